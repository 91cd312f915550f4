/**
 * Retrieval and chat overhead.
 *   deno task bench:chat
 * 1. recall@5: a fidelity export (planted facts) goes through the pipeline (offline provider);
 *    for each fact a question in other words is asked through the query function's retrieval
 *    (hybrid search with the offline embedder); a hit is a top-5 chunk holding the fact.
 * 2. load: 50 concurrent clients send chat requests to the query function through the gateway
 *    for 15 s, each sending its next request when the last one is answered, with the Anthropic
 *    provider pointed at the protocol test server (fixed 400 ms model latency); overhead = total
 *    time minus the model's latency. A cold burst (50 requests at the same instant) is reported
 *    on stderr as well: on 2 cores it measures how fast 50 requests' CPU can be queued, not the
 *    overhead a user sees.
 * 3. shared table: bench/search.ts with one heavy history (--shared-heavy chunks, default 78,000;
 *    0 skips it) beside ordinary ones: recall@10 against exact search and p95 retrieval per user.
 * Ends with one JSON line: recall_at_5, requests, p95_overhead_ms (sustained), shared_table.
 */
import postgres from "postgres";
import { retrieve } from "../shared/adapters/chat.ts";
import { createDb } from "../shared/adapters/db.ts";
import { OfflineEmbedder } from "../shared/adapters/embedder.ts";
import { generateFidelityExport } from "./fidelity/generator.ts";
import { startProviderServer } from "../platform/provider-server.ts";
import { userToken } from "../platform/jwt.ts";
import { API_URL as API, benchArgs, DB_URL as DB, importAndWait, percentile } from "./_lib.ts";
import { normText } from "../shared/processors/text.ts";

// --shared-heavy N: the shared-table run's heavy history in chunks (0 skips it; see bench/search.ts).
const { "shared-heavy": sharedHeavy } = benchArgs({ "shared-heavy": 78000 });
const sql = postgres(DB, { max: 2, onnotice: () => {} });
const db = createDb({ dbUrl: DB }, 4);
const envFile = new URL("../.platform/functions.env", import.meta.url);

const QUESTIONS: Record<string, string> = {
  name: "What's my name?",
  location: "Which city did I move to?",
  work: "What do I work as now?",
  like1: "What hobbies do I love?",
  like2: "What do I enjoy doing on weekends?",
  dislike: "What can't I stand?",
  diet: "Do I eat meat?",
  project: "What am I working on these days?",
  birthday: "When is my birthday?",
  belief: "What do I believe in?",
  decision: "What have I decided to do?",
  sibling: "Who is my sister?",
  pet: "What is my pet called?",
};

let summary: Record<string, unknown> = {};
const server = startProviderServer({ latencyMs: 400 });
try {
  const { conversations, truth } = generateFidelityExport(5, "A");
  const { userId, job } = await importAndWait(
    sql,
    API,
    new TextEncoder().encode(JSON.stringify(conversations)),
    "bench-chat",
  );
  if (job.status !== "complete") throw new Error(`import ${job.status}: ${job.error_message}`);
  let hits = 0;
  for (const f of truth.facts) {
    const ctx = await retrieve(db, new OfflineEmbedder(768), userId, QUESTIONS[f.id]!, 5);
    if (ctx.chunks.some((c) => f.terms.every((t) => ` ${normText(c.content)} `.includes(` ${t} `)))) hits++;
    else console.error(`miss: ${f.id} (${QUESTIONS[f.id]})`);
  }
  const recall = hits / truth.facts.length;
  console.error(`recall@5: ${hits}/${truth.facts.length}`);

  await Deno.writeTextFile(
    envFile,
    `LLM_PROVIDER=anthropic\nANTHROPIC_API_KEY=bench\nANTHROPIC_BASE_URL=${server.url}\nLLM_RPM=100000\nLLM_TPM=100000000\n` +
      // One user plays 50 clients here: lift the per-user limit for the measurement.
      `USER_RATE_BURST=100000\nUSER_RATE_PER_MINUTE=100000\n`,
  );
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await new Promise((r) => setTimeout(r, 2000));
  const token = await userToken(userId);
  const ask = async () => {
    const t0 = performance.now();
    const res = await fetch(`${API}/functions/v1/query`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ message: "What hobbies do I love?", stream: false }),
    });
    if (res.status !== 200) throw new Error(`query ${res.status}: ${await res.text()}`);
    await res.json();
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: 50 }, ask)); // boot and warm the workers
  const burst = await Promise.all(Array.from({ length: 50 }, ask));
  console.error(
    `cold burst of 50: p50 ${percentile(burst, 50).toFixed(0)} ms, p95 ${percentile(burst, 95).toFixed(0)} ms total`,
  );
  const times: number[] = [];
  const end = Date.now() + 15_000;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (Date.now() < end) times.push(await ask());
  }));
  console.error(
    `50 concurrent clients, 15 s: ${times.length} requests, p50 ${percentile(times, 50).toFixed(0)} ms, p95 ${
      percentile(times, 95).toFixed(0)
    } ms, p99 ${percentile(times, 99).toFixed(0)} ms total (400 ms model)`,
  );
  summary = {
    recall_at_5: Math.round(recall * 1000) / 1000,
    requests: times.length,
    p95_overhead_ms: Math.round(percentile(times, 95) - 400),
  };
} finally {
  await Deno.remove(envFile).catch(() => {});
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await server.close();
  await db.end();
  await sql.end();
}

// 3. Shared table: a heavy history beside ordinary ones (bench/search.ts, run as its own process
//    after this one has restored the functions' settings): recall against exact search and p95
//    retrieval per kind of user, before and after.
if (sharedHeavy > 0) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./search.ts", import.meta.url).pathname,
      "--heavy-chunks",
      String(sharedHeavy),
      "--queries",
      "20",
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the shared-table run failed");
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  summary = { ...summary, shared_table: JSON.parse(lines[lines.length - 1]!) };
}
console.log(JSON.stringify(summary));
