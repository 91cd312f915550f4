/**
 * Pipeline throughput against the protocol test server (Anthropic API) with a fixed model
 * latency and per-minute limits shared by all stage functions.
 *   deno task bench:pipeline [-- --conversations 2000 --latency-ms 800 --rpm 50 --tpm 100000000]
 *
 * Two measures:
 * - the whole import: `seconds` against `ideal_seconds` = max(calls x latency / concurrency,
 *   calls / rpm) over the calls the server saw (`efficiency`);
 * - the model-call phase, from the first model request to the last answer (the server's call
 *   timeline), against the least time the calls the INPUT needs can take
 *   (shared/processors/model-calls.ts: counted from the export itself with the stages' own
 *   processors, with their input tokens as the limiter estimates them): `ideal_needed_seconds`
 *   = max(needed calls x latency / concurrency, needed calls / rpm, needed input tokens / tpm),
 *   and `model_phase_efficiency` = ideal_needed_seconds / model_phase_seconds. The needed
 *   extraction requests are packed as the tasks pack them (ranges of 100 conversations, each sent
 *   in requests of at most MAX_REQUEST_CHARS), which leaves requests partly full: the line also
 *   gives `fewest_extract_calls`, the requests the same text would take packed full, and
 *   `model_phase_efficiency_fewest` against that bound.
 * Ends with one JSON line: conversations, llm_calls, seconds, ideal_seconds, efficiency,
 * usd_per_1000_conversations, tokens per 1000 conversations, needed_calls, needed_input_tokens,
 * model_phase_seconds, ideal_needed_seconds, model_phase_efficiency, extract_request_fill,
 * fewest_extract_calls, model_phase_efficiency_fewest. The stage timeline and the
 * model calls' timeline (per stage, and the gaps between calls) go to stderr.
 */
import postgres from "postgres";
import { startProviderServer } from "../platform/provider-server.ts";
import { generateExport } from "../tools/export-generator.ts";
import { parseElements } from "../shared/processors/ingest/slice.ts";
import { extractionPlan, MAX_REQUEST_CHARS } from "../shared/processors/extraction-input.ts";
import {
  extractionSource,
  idealSeconds,
  neededModelCalls,
  type StoredInput,
} from "../shared/processors/model-calls.ts";
import { postgresStore } from "../shared/adapters/store/mod.ts";
import { FACT_BUDGET_TOKENS } from "../supabase/functions/consolidate/handler.ts";
import { API_URL as API, benchArgs, DB_URL, importAndWait, percentile } from "./_lib.ts";

const args = benchArgs({ conversations: 2000, "latency-ms": 800, rpm: 50, tpm: 100_000_000 });
const { conversations, rpm, tpm } = args, latency = args["latency-ms"];
const sql = postgres(DB_URL, {
  max: 2,
  onnotice: () => {},
});
const envFile = new URL("../.platform/functions.env", import.meta.url);
const server = startProviderServer({ latencyMs: latency, rpmLimit: Math.ceil(rpm * 1.05) });
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** The export's conversations as ingest stores them (its own parser; a repeated id keeps the last). */
function storedInput(elements: string[], fallbackTime: string): StoredInput[] {
  const enc = new TextEncoder();
  const parsed = parseElements(
    elements.map((e, index) => {
      const bytes = enc.encode(e);
      return { index, start: 0, end: bytes.length, bytes };
    }),
    null,
    { fallbackTime },
  );
  const byId = new Map<string, StoredInput>();
  for (const c of parsed.conversations) {
    byId.set(c.id, { id: c.id, title: c.title, created_at: c.created_at, messages: c.messages });
  }
  return [...byId.values()];
}

try {
  // A generated export of exactly `conversations` conversations.
  const parts: string[] = [];
  for (const p of generateExport({ seed: 21, targetBytes: Number.MAX_SAFE_INTEGER / 2 })) {
    if (parts.length > conversations) break;
    parts.push(p);
  }
  const elements = parts.slice(1, conversations + 1).map((p) => p.replace(/^,/, ""));
  const json = `[${elements.join(",")}]`;
  await Deno.writeTextFile(
    envFile,
    `LLM_PROVIDER=anthropic\nANTHROPIC_API_KEY=bench\nANTHROPIC_BASE_URL=${server.url}\nLLM_RPM=${rpm}\nLLM_TPM=${tpm}\n`,
  );
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await new Promise((r) => setTimeout(r, 2000));
  const { job, seconds } = await importAndWait(
    sql,
    API,
    new TextEncoder().encode(json),
    "bench-pipeline",
    4 * 3600_000,
  );
  if (job.status !== "complete") throw new Error(`pipeline ${job.status}: ${job.error_code} ${job.error_message}`);
  const created = new Date(job.created_at).getTime();
  const at = (ms: number) => ((ms - created) / 1000).toFixed(1);
  // Where the time went (stderr): each stage's span, and the model calls' timeline.
  const stages = await sql`select stage, extract(epoch from completed_at - started_at)::float8 as s,
                                  extract(epoch from started_at - ${job.created_at}::timestamptz)::float8 as at
                             from private.job_stage_runs where job_id = ${job.id} order by started_at`;
  console.error(
    `stages (start+duration s): ${stages.map((r) => `${r.stage} ${r.at.toFixed(1)}+${r.s.toFixed(1)}`).join(", ")}`,
  );
  const calls = server.stats.calls;
  const byTask = Map.groupBy(calls, (c) => c.task ?? "other");
  console.error(
    `model calls by task (count, first..last answer s): ${
      [...byTask].map(([k, cs]) => `${k} ${cs.length} ${at(cs[0]!.at)}..${at(Math.max(...cs.map((c) => c.done)))}`)
        .join(", ")
    }; by status ${JSON.stringify(server.stats.byStatus)}`,
  );
  const starts = calls.map((c) => c.at);
  const gaps = starts.slice(1).map((x, i) => x - starts[i]!);
  const big = gaps.map((g, i) => ({ g, i })).filter((x) => x.g > (60_000 / rpm) * 2).sort((a, b) => b.g - a.g);
  console.error(
    `model calls: first at ${at(starts[0]!)} s, last answer at ${at(Math.max(...calls.map((c) => c.done)))} s; ` +
      `gap p50 ${percentile(gaps, 50)} ms, p90 ${percentile(gaps, 90)} ms, max ${Math.max(...gaps)} ms; ` +
      `gaps over ${(120_000 / rpm).toFixed(0)} ms: ${
        big.slice(0, 8).map((x) => `${x.g} ms at ${at(starts[x.i]!)} s (${calls[x.i]!.task}->${calls[x.i + 1]!.task})`)
          .join(", ") || "none"
      }`,
  );

  // What the input needs, from the export itself (facts and MEMORY, answers of earlier calls, from the run).
  const store = postgresStore(sql);
  const input = storedInput(elements, new Date(job.created_at).toISOString());
  const needed = neededModelCalls(input, {
    factBudgetTokens: FACT_BUDGET_TOKENS,
    facts: await store.facts.forJob(job.id),
    memoryMd: (await store.artifacts.stagedMemory(job.id))?.memory_md ?? null,
  });
  const [cap] = await sql`select least(concurrency_cap, max_running_per_job) as n from private.stages
                           where stage = 'extract'`;
  const concurrency = Number(cap!.n);
  const idealNeeded = idealSeconds(needed, { latencyMs: latency, concurrency, rpm, tpm });
  const phase = (Math.max(...calls.map((c) => c.done)) - starts[0]!) / 1000;
  // The bound no packing beats: the extraction text in full requests (the other stages' calls as they are).
  const requestChars = extractionPlan(input.map(extractionSource)).requests.map((r) => r.text.length);
  const fewest = Math.ceil(requestChars.reduce((n, c) => n + c, 0) / MAX_REQUEST_CHARS);
  const extractCalls = needed.filter((c) => c.stage === "extract");
  const idealFewest = idealSeconds(
    [...needed.filter((c) => c.stage !== "extract"), ...extractCalls.slice(0, fewest)],
    { latencyMs: latency, concurrency, rpm, tpm },
  );
  const [sent] = await sql`select coalesce(sum((result->>'requests')::int), 0)::int as n from private.job_tasks
                            where job_id = ${job.id} and stage = 'extract'`;
  const neededBy = Map.groupBy(needed, (c) => c.stage);
  console.error(
    `needed calls: ${[...neededBy].map(([k, cs]) => `${k} ${cs.length}`).join(", ")} ` +
      `(extract requests sent by the run: ${sent!.n}); concurrency ${concurrency}`,
  );

  const [p] = await sql`select import_cost_json from public.user_profiles where job_id = ${job.id}`;
  const cost = p!.import_cost_json;
  const made = server.stats.byStatus[200] ?? 0;
  const ideal = Math.max((made * latency) / 1000 / concurrency, (made / rpm) * 60);
  const per1000 = 1000 / job.conversation_count;
  console.log(JSON.stringify({
    conversations: job.conversation_count,
    llm_calls: made,
    seconds: Math.round(seconds),
    ideal_seconds: Math.round(ideal),
    efficiency: round(ideal / seconds),
    usd_per_1000_conversations: round(cost.total_cost_usd * per1000, 4),
    input_tokens_per_1000_conversations: Math.round(cost.llm_input_tokens * per1000),
    output_tokens_per_1000_conversations: Math.round(cost.llm_output_tokens * per1000),
    needed_calls: needed.length,
    needed_input_tokens: needed.reduce((n, c) => n + c.inputTokens, 0),
    model_phase_seconds: round(phase, 1),
    ideal_needed_seconds: round(idealNeeded, 1),
    model_phase_efficiency: round(idealNeeded / phase),
    extract_request_fill: round(requestChars.reduce((n, c) => n + c, 0) / (requestChars.length * MAX_REQUEST_CHARS)),
    fewest_extract_calls: fewest,
    model_phase_efficiency_fewest: round(idealFewest / phase),
  }));
} finally {
  await Deno.remove(envFile).catch(() => {});
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await server.close();
  await sql.end();
}
