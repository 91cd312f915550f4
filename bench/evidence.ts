/**
 * Evidence: does what the person wrote reach the extraction model, and at what input size?
 *   deno task bench:evidence [-- --seed 1]
 * Imports (1) a fidelity export with planted facts (generator.ts, template set A) and (2)
 * examples/chatgpt-export-sample.zip through the real pipeline with LLM_CAPTURE_FILE on
 * (written to .platform/functions.env for the run, then restored), and reads back the captured
 * extraction requests (stage "extract") of each job.
 * - evidence_recall: share of planted facts whose planted sentence is in some request's
 *   `<user>` text (generator); for the sample, which has no planted facts: share of its distinct
 *   user messages whose text (or, with pasted material, its compacted text with stubs) is sent.
 * - input_tokens_ratio: extraction request tokens (system + messages) ÷ the tokens of sending
 *   every chunk whole in its own request with the same prompt, as the service did before.
 *   Tokens ≈ characters / 4 on both sides, so the ratio is a ratio of characters.
 * - cut_chars: characters not sent, by reason (ops.extraction_input).
 * Ends with one JSON line.
 */
import postgres from "postgres";
import { compactUserText, parseExtractionInput } from "../shared/processors/extraction-input.ts";
import { generateFidelityExport } from "./fidelity/generator.ts";
import { factsPrompt } from "../shared/processors/prompts.ts";
import { importAndWait } from "./_lib.ts";

const arg = (n: string, d: string) => {
  const i = Deno.args.indexOf(`--${n}`);
  return i >= 0 ? Deno.args[i + 1]! : d;
};
const seed = Number(arg("seed", "1"));
const API = `http://127.0.0.1:${Deno.env.get("SOULPRINT_API_PORT") ?? 54321}`;
const sql = postgres(
  Deno.env.get("SOULPRINT_DB_URL") ??
    `postgresql://postgres:postgres@127.0.0.1:${Deno.env.get("SOULPRINT_DB_PORT") ?? 54322}/postgres?sslmode=disable`,
  { max: 2, onnotice: () => {} },
);
const envFile = new URL("../.platform/functions.env", import.meta.url);
const captureFile = new URL("../.platform/evidence-capture.jsonl", import.meta.url).pathname;

const norm = (s: string) => s.replace(/\s+/g, " ").trim();
const round = (x: number) => Math.round(x * 1000) / 1000;

interface Captured {
  stage: string;
  job_id: string;
  system: string;
  messages: { content: string }[];
}

async function measure(bytes: Uint8Array, label: string) {
  const { job } = await importAndWait(sql, API, bytes, label);
  if (job.status !== "complete") {
    throw new Error(`${label} import ${job.status}: ${job.error_code} ${job.error_message}`);
  }
  const lines = (await Deno.readTextFile(captureFile)).trim().split("\n").map((l) => JSON.parse(l) as Captured)
    .filter((l) => l.stage === "extract" && l.job_id === job.id);
  const requestChars = lines.reduce(
    (n, l) => n + l.system.length + l.messages.reduce((a, m) => a + m.content.length, 0),
    0,
  );
  // The person's text per conversation, pieces of a long message joined in order.
  const sent = new Map<string, string>();
  for (const l of lines) {
    for (const c of parseExtractionInput(l.messages[0]!.content)) {
      const t = c.messages.filter((m) => m.role === "user").map((m) => m.text).join("");
      sent.set(c.conversationId, (sent.get(c.conversationId) ?? "") + t);
    }
  }
  const everything = norm([...sent.values()].join("\n"));
  const chunks = await sql`select content from public.conversation_chunks where job_id = ${job.id}`;
  const baseline = chunks.reduce((n, c) => {
    const p = factsPrompt(c.content);
    return n + p.system.length + p.messages[0]!.content.length;
  }, 0);
  const users = await sql`select distinct btrim(m->>'content') as text
    from public.raw_conversations r, json_array_elements(r.messages) m
    where r.job_id = ${job.id} and m->>'role' in ('user', 'system') and btrim(m->>'content') <> ''`;
  const reached = users.filter((u) => everything.includes(norm(compactUserText(u.text).text))).length;
  const [v] = await sql`select * from ops.extraction_input where job_id = ${job.id}`;
  const cut = {
    duplicate: Number(v?.duplicate_chars ?? 0),
    pasted: Number(v?.pasted_chars ?? 0),
    repeated: Number(v?.repeated_chars ?? 0),
    assistant: Number(v?.assistant_chars ?? 0),
  };
  console.error(
    `${label}: ${lines.length} requests, ${requestChars} request chars vs ${baseline} for ${chunks.length} whole chunks; ` +
      `${reached}/${users.length} distinct user messages reached; cut ${JSON.stringify(cut)}; ` +
      `${v?.context_excerpts ?? 0} context excerpts, ${v?.pasted_stubs ?? 0} stubs`,
  );
  return {
    everything,
    requests: lines.length,
    input_tokens_ratio: round(requestChars / baseline),
    user_message_recall: round(reached / Math.max(users.length, 1)),
    cut_chars: cut,
  };
}

const previous = await Deno.readTextFile(envFile).catch(() => null);
try {
  await Deno.writeTextFile(captureFile, "");
  await Deno.writeTextFile(envFile, `${previous ?? ""}\nLLM_CAPTURE_FILE=${captureFile}\n`);
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await new Promise((r) => setTimeout(r, 2000));

  // 1. Planted facts. Each planted statement is the first user message of a `fact-*`
  //    conversation (wrapped in one of the generator's everyday lead-ins).
  const { conversations, truth } = generateFidelityExport(seed, "A");
  const planted = conversations.filter((c) => String(c.id).startsWith("fact-")).flatMap((c) =>
    Object.values(
      c.mapping as Record<string, { message?: { author?: { role?: string }; content?: { parts?: unknown[] } } | null }>,
    )
      .filter((n) => n.message?.author?.role === "user")
      .slice(0, 1)
      .flatMap((n) => {
        const text = n.message?.content?.parts?.[0];
        return typeof text === "string" ? [norm(text)] : [];
      })
  );
  const gen = await measure(new TextEncoder().encode(JSON.stringify(conversations)), "evidence-generator");
  const words = (s: string) => ` ${s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()} `;
  const sentencesReached = planted.filter((s) => gen.everything.includes(s));
  const factsReached = truth.facts.filter((f) =>
    sentencesReached.some((s) => f.terms.every((t) => words(s).includes(` ${t} `)))
  );
  for (const f of truth.facts) if (!factsReached.includes(f)) console.error(`planted fact not sent: ${f.id}`);

  // 2. The sample export (no planted facts): coverage of every user message.
  const sample = await measure(
    await Deno.readFile(new URL("../examples/chatgpt-export-sample.zip", import.meta.url)),
    "evidence-sample",
  );

  console.log(JSON.stringify({
    evidence_recall: round(factsReached.length / truth.facts.length),
    planted_sentences_sent: `${sentencesReached.length}/${planted.length}`,
    input_tokens_ratio: gen.input_tokens_ratio,
    cut_chars: gen.cut_chars,
    requests: gen.requests,
    user_message_recall: gen.user_message_recall,
    sample: {
      evidence_recall: sample.user_message_recall,
      input_tokens_ratio: sample.input_tokens_ratio,
      cut_chars: sample.cut_chars,
      requests: sample.requests,
    },
  }));
} finally {
  if (previous === null) await Deno.remove(envFile).catch(() => {});
  else await Deno.writeTextFile(envFile, previous);
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await sql.end();
}
