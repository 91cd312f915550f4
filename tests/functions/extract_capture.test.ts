// Request capture and extraction coverage through the real pipeline: with LLM_CAPTURE_FILE set,
// an import's model requests are appended as JSON lines tagged with stage and job id, and every
// user message of the export reaches an extraction request (whole, compacted, or in pieces).
import assert from "node:assert/strict";
import { compactUserText, parseExtractionInput } from "../../shared/processors/extraction-input.ts";
import { generateFidelityExport } from "../../bench/fidelity/generator.ts";
import { adminDb, API_URL, createUser, first, userClient, waitFor } from "../_support/platform.ts";

const envFile = new URL("../../.platform/functions.env", import.meta.url);

/** A linear ChatGPT conversation (mapping tree) from [role, text] turns. */
function chatgptConversation(id: string, turns: [string, string][], t0: number) {
  const mapping: Record<string, unknown> = {};
  let parent: string | null = null;
  turns.forEach(([role, text], i) => {
    const nid = `${id}-${i}`;
    mapping[nid] = {
      id: nid,
      parent,
      children: i + 1 < turns.length ? [`${id}-${i + 1}`] : [],
      message: {
        id: nid,
        author: { role },
        create_time: t0 + i,
        content: { content_type: "text", parts: [text] },
        recipient: "all",
        metadata: {},
      },
    };
    parent = nid;
  });
  return {
    id,
    conversation_id: id,
    title: `Extra ${id}`,
    create_time: t0,
    update_time: t0 + 9,
    mapping,
    current_node: parent,
  };
}

Deno.test("capture: extraction requests carry stage and job id, and every user message of the export", async () => {
  const sql = adminDb();
  const captureFile = await Deno.makeTempFile({ prefix: "capture-", suffix: ".jsonl" });
  const previous = await Deno.readTextFile(envFile).catch(() => null);
  try {
    await Deno.writeTextFile(envFile, `${previous ?? ""}\nLLM_CAPTURE_FILE=${captureFile}\n`);
    await (await fetch(`${API_URL}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
    await new Promise((r) => setTimeout(r, 2000));

    const { conversations } = generateFidelityExport(3, "A", { fillerPerFact: 2 });
    const t0 = 1_700_000_000;
    conversations.push(
      // Longer than one request: it must arrive in pieces through continuation tasks.
      chatgptConversation("zz-long", [
        [
          "user",
          Array.from({ length: 1000 }, (_, i) => `Day ${i}: I ran ${i % 13} km along the river in Ghent.`).join(" "),
        ],
        ["assistant", "That is a lot of training."],
        ["user", "yes, and the second half"],
      ], t0),
      chatgptConversation("zz-paste", [
        [
          "user",
          "My deploy script fails:\n```sh\nset -euo pipefail\nexport PORT=8080\n./bin/server --port=$PORT >> /var/log/app.log\n```\nI moved to Tampere last spring.",
        ],
        ["assistant", "Check the log path permissions."],
      ], t0 + 100),
    );
    const user = await createUser(sql, "capture");
    const key = `${user.id}/${Date.now()}-export.json`;
    const up = await userClient(user.token).storage.from("imports").upload(
      key,
      new TextEncoder().encode(JSON.stringify(conversations)),
      { contentType: "application/octet-stream" },
    );
    assert.equal(up.error, null);
    const { id: jobId } = first(
      await sql`insert into public.processing_jobs (user_id, storage_path) values (${user.id}, ${
        "imports/" + key
      }) returning id`,
    );
    const job = await waitFor(
      async () => {
        const j = first(await sql`select * from public.processing_jobs where id = ${jobId}`);
        return ["complete", "failed", "cancelled"].includes(j.status) ? j : null;
      },
      180_000,
      200,
    );
    assert.equal(job.status, "complete", `${job.error_code} ${job.error_message}`);

    const lines = (await Deno.readTextFile(captureFile)).trim().split("\n").map((l) => JSON.parse(l));
    const mine = lines.filter((l) => l.job_id === jobId);
    for (const l of lines) {
      assert.ok("stage" in l && "job_id" in l && l.system && Array.isArray(l.messages) && l.model, "line shape");
    }
    const extract = mine.filter((l) => l.stage === "extract");
    assert.ok(extract.length >= 3, `${extract.length} extraction requests`);
    for (const l of extract) assert.equal(typeof l.reply, "string");

    // The person's text per conversation, pieces joined in order.
    const sent = new Map<string, string>();
    for (const l of extract) {
      for (const c of parseExtractionInput(l.messages[0].content)) {
        const t = c.messages.filter((m) => m.role === "user").map((m) => m.text).join("");
        sent.set(c.conversationId, (sent.get(c.conversationId) ?? "") + t);
      }
    }
    const all = [...sent.values()].join("\n");
    const msgs = await sql`select r.conversation_id, m->>'content' as text
      from public.raw_conversations r, json_array_elements(r.messages) m
      where r.job_id = ${jobId} and m->>'role' = 'user' and btrim(m->>'content') <> ''`;
    assert.ok(msgs.length > 40);
    for (const m of msgs) {
      const want = compactUserText(m.text.trim()).text;
      assert.ok(
        (sent.get(m.conversation_id) ?? "").includes(want) || all.includes(want),
        `user message not sent: ${m.conversation_id}: ${want.slice(0, 80)}`,
      );
    }
    assert.ok(all.includes("[pasted code, 3 lines]") && !all.includes("pipefail"), "the pasted script is a stub");
    assert.ok(all.includes("I moved to Tampere last spring."));
    assert.ok(all.includes("Day 999: I ran 11 km along the river in Ghent."), "the end of the long message arrives");
    const parts = extract.filter((l) => l.messages[0].content.includes('id="zz-long"')).length;
    assert.ok(parts >= 2, `the long message spans ${parts} requests`);

    const [v] = await sql`select * from ops.extraction_input where job_id = ${jobId}`;
    assert.ok(v, "ops.extraction_input has the job");
    assert.equal(Number(v.requests), extract.length);
    assert.equal(Number(v.user_messages_sent) + Number(v.duplicate_messages), msgs.length);
    const distinct = new Set(msgs.map((m) => m.text.trim())).size;
    assert.equal(Number(v.duplicate_messages), msgs.length - distinct, "every repeat left out, across tasks");
    assert.ok(Number(v.duplicate_messages) > 0 && Number(v.pasted_chars) > 0 && Number(v.assistant_chars) > 0);
    assert.ok(Number(v.context_excerpts) >= 1);
    const facts = first(
      await sql`select count(*)::int as n, count(source_task)::int as s from public.memory_facts
                                   where job_id = ${jobId}`,
    );
    assert.ok(facts.n > 0 && facts.s === facts.n, "facts stored with their task");
  } finally {
    if (previous === null) await Deno.remove(envFile).catch(() => {});
    else await Deno.writeTextFile(envFile, previous);
    await (await fetch(`${API_URL}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
    await Deno.remove(captureFile).catch(() => {});
    await sql.end();
  }
});
