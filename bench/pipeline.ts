/**
 * Pipeline throughput against the protocol test server (Anthropic API) with a fixed model
 * latency and a requests-per-minute limit shared by all stage functions.
 *   deno task bench:pipeline [-- --conversations 2000 --latency-ms 800 --rpm 50]
 * ideal = max(LLM calls x latency / concurrency, LLM calls / rpm); efficiency = ideal / actual.
 * Ends with one JSON line: conversations, llm_calls, seconds, ideal_seconds, efficiency,
 * usd_per_1000_conversations (and tokens per 1000 conversations).
 */
import postgres from "postgres";
import { startProviderServer } from "../platform/provider-server.ts";
import { generateExport } from "../tools/export-generator.ts";
import { API_URL as API, benchArgs, DB_URL, importAndWait } from "./_lib.ts";

const args = benchArgs({ conversations: 2000, "latency-ms": 800, rpm: 50 });
const { conversations, rpm } = args, latency = args["latency-ms"];
const sql = postgres(DB_URL, {
  max: 2,
  onnotice: () => {},
});
const envFile = new URL("../.platform/functions.env", import.meta.url);
const server = startProviderServer({ latencyMs: latency, rpmLimit: Math.ceil(rpm * 1.05) });
try {
  // A generated export of exactly `conversations` conversations.
  const parts: string[] = [];
  for (const p of generateExport({ seed: 21, targetBytes: Number.MAX_SAFE_INTEGER / 2 })) {
    if (parts.length > conversations) break;
    parts.push(p);
  }
  const json = `[${parts.slice(1, conversations + 1).map((p) => p.replace(/^,/, "")).join(",")}]`;
  await Deno.writeTextFile(
    envFile,
    `LLM_PROVIDER=anthropic\nANTHROPIC_API_KEY=bench\nANTHROPIC_BASE_URL=${server.url}\nLLM_RPM=${rpm}\nLLM_TPM=100000000\n`,
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
  // Where the time went (stderr): each stage's span, and the model calls' timeline.
  const stages = await sql`select stage, extract(epoch from completed_at - started_at)::float8 as s,
                                  extract(epoch from started_at - ${job.created_at}::timestamptz)::float8 as at
                             from private.job_stage_runs where job_id = ${job.id} order by started_at`;
  console.error(
    `stages (start+duration s): ${stages.map((r) => `${r.stage} ${r.at.toFixed(1)}+${r.s.toFixed(1)}`).join(", ")}`,
  );
  const t = server.stats.times, created = new Date(job.created_at).getTime();
  const gaps = t.slice(1).map((x, i) => x - t[i]!).sort((a, b) => a - b);
  console.error(
    `model calls: first at ${((t[0]! - created) / 1000).toFixed(1)} s, last at ${
      ((t.at(-1)! - created) / 1000).toFixed(1)
    } s; ` +
      `gap p50 ${gaps[gaps.length >> 1]} ms, p90 ${gaps[Math.floor(gaps.length * 0.9)]} ms, max ${gaps.at(-1)} ms`,
  );
  const [p] = await sql`select import_cost_json from public.user_profiles where job_id = ${job.id}`;
  const cost = p!.import_cost_json;
  const calls = server.stats.byStatus[200] ?? 0;
  const concurrency = 8; // stage concurrency cap
  const ideal = Math.max((calls * latency) / 1000 / concurrency, (calls / rpm) * 60);
  const per1000 = 1000 / job.conversation_count;
  console.log(JSON.stringify({
    conversations: job.conversation_count,
    llm_calls: calls,
    seconds: Math.round(seconds),
    ideal_seconds: Math.round(ideal),
    efficiency: Math.round((ideal / seconds) * 100) / 100,
    usd_per_1000_conversations: Math.round(cost.total_cost_usd * per1000 * 10000) / 10000,
    input_tokens_per_1000_conversations: Math.round(cost.llm_input_tokens * per1000),
    output_tokens_per_1000_conversations: Math.round(cost.llm_output_tokens * per1000),
  }));
} finally {
  await Deno.remove(envFile).catch(() => {});
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await server.close();
  await sql.end();
}
