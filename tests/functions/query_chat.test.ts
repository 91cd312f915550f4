// query and chat through the gateway with a user's JWT: auth, validation, real SSE streaming,
// JSON mode, and chat persistence.
import assert from "node:assert/strict";
import { adminDb, anonJwt, API_URL, createUser, first, userClient, waitFor } from "../_support/platform.ts";
import { asUser, saveAssistantMessage } from "../../shared/adapters/chat.ts";

const FIXTURE = new URL("../fixtures/exports/chatgpt-tree.json", import.meta.url);

async function userWithSoulprint() {
  const sql = adminDb();
  const user = await createUser(sql, "chat");
  const key = `${user.id}/${Date.now()}-export.json`;
  await userClient(user.token).storage.from("imports").upload(key, await Deno.readFile(FIXTURE), {
    contentType: "application/json",
  });
  const { id } = first(
    await sql`insert into public.processing_jobs (user_id, storage_path) values (${user.id}, ${
      "imports/" + key
    }) returning id`,
  );
  await waitFor(
    async () =>
      first(await sql`select status from public.processing_jobs where id = ${id}`).status === "complete" || null,
    60_000,
    100,
  );
  return { sql, user };
}

const post = (fn: string, token: string | null, body: unknown) =>
  fetch(`${API_URL}/functions/v1/${fn}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

async function readSse(res: Response): Promise<{ events: unknown[]; text: string }> {
  const events: unknown[] = [];
  let buf = "";
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, i).replace(/^data: /, "");
      buf = buf.slice(i + 2);
      events.push(line === "[DONE]" ? "[DONE]" : JSON.parse(line));
    }
  }
  return { events, text: events.map((e) => (e as { content?: string }).content ?? "").join("") };
}

Deno.test("query and chat: auth, input limits, SSE streaming, JSON mode, saved chats", async () => {
  const { sql, user } = await userWithSoulprint();
  try {
    let r = await post("query", null, { message: "hi" });
    assert.equal(r.status, 401, "the gateway refuses a missing JWT");
    await r.body?.cancel();
    r = await post("query", anonJwt, { message: "hi" });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).code, "AUTH_INVALID");
    for (
      const bad of [{ message: "" }, { message: "x".repeat(50_001) }, {
        message: "hi",
        history: [{ role: "robot", content: "x" }],
      }, "not json"]
    ) {
      r = await post("query", user.token, bad);
      assert.equal(r.status, 400, JSON.stringify(bad).slice(0, 60));
      assert.equal((await r.json()).code, "INPUT_INVALID");
    }

    r = await post("query", user.token, { message: "Tell me a joke", stream: false });
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(typeof j.response, "string");
    assert.ok(j.chunks_used >= 1, "retrieved the joke conversation");
    assert.ok(["rlm", "fallback"].includes(j.method));
    assert.ok(j.latency_ms >= 0);

    r = await post("query", user.token, { message: "Tell me a joke" });
    assert.equal(r.headers.get("content-type"), "text/event-stream");
    const s = await readSse(r);
    assert.ok(s.events.length >= 3, "several events: tokens, citations, [DONE]");
    assert.equal(s.events.at(-1), "[DONE]");
    assert.ok(s.text.length > 0);

    r = await post("chat", user.token, { message: "What did I ask you for?" });
    const convId = r.headers.get("x-conversation-id")!;
    const c = await readSse(r);
    assert.ok(c.text.length > 0);
    const msgs = await waitFor(async () => {
      const rows =
        await sql`select role, content, complete from public.chat_messages where conversation_id = ${convId} order by created_at`;
      return rows.length === 2 ? rows : null;
    }, 5000);
    assert.deepEqual(msgs.map((m) => m.role), ["user", "assistant"]);
    assert.equal(msgs[1]!.content, c.text, "the streamed reply is saved");

    const other = await createUser(sql, "other");
    r = await post("chat", other.token, { message: "hi", conversation_id: convId });
    assert.equal(r.status, 404, "another user's chat is not found");
    await r.body?.cancel();

    // Replies are written by the function, never by the person: as the user, an assistant turn
    // is refused by RLS; the function's own write still checks whose chat it is.
    await assert.rejects(
      asUser(
        sql,
        user.id,
        (tx) =>
          tx`insert into public.chat_messages (user_id, conversation_id, role, content)
             values (${user.id}, ${convId}, 'assistant', 'forged reply')`,
      ),
      /row-level security/,
    );
    await assert.rejects(saveAssistantMessage(sql, other.id, convId, "misrouted reply"), /is not/);
    const { n } = first(
      await sql`select count(*)::int as n from public.chat_messages where conversation_id = ${convId}`,
    );
    assert.equal(n, 2, "neither the forged nor the misrouted reply was written");
  } finally {
    await sql.end();
  }
});

Deno.test("chat: a reply cut off by the client is still saved, marked incomplete", async () => {
  const { startProviderServer } = await import("../../platform/provider-server.ts");
  const envFile = new URL("../../.platform/functions.env", import.meta.url);
  const server = startProviderServer({ streamDelayMs: 150 });
  const { sql, user } = await userWithSoulprint();
  try {
    await Deno.writeTextFile(
      envFile,
      `LLM_PROVIDER=anthropic\nANTHROPIC_API_KEY=k\nANTHROPIC_BASE_URL=${server.url}\nLLM_RPM=6000\n`,
    );
    await (await fetch(`${API_URL}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
    await new Promise((r) => setTimeout(r, 3000));
    const res = await post("chat", user.token, { message: "Tell me a joke" });
    const convId = res.headers.get("x-conversation-id")!;
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^data: \{"content":/, "tokens arrive as they are generated");
    await reader.cancel(); // the client goes away mid-answer
    const saved = await waitFor(
      async () => {
        const [m] =
          await sql`select content, complete from public.chat_messages where conversation_id = ${convId} and role = 'assistant'`;
        return m ?? null;
      },
      10_000,
      100,
    );
    assert.equal(saved.complete, false);
    assert.ok(saved.content.length > 0);
  } finally {
    await Deno.remove(envFile).catch(() => {});
    await (await fetch(`${API_URL}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
    await server.close();
    await sql.end();
  }
});
