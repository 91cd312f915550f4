/**
 * Retrieval in a shared table: one heavy user (a 1 GB history, ~78,000 chunks) and several
 * ordinary users in the same conversation_chunks table.
 *   deno task bench:search [-- --heavy-chunks 78000 --queries 40 --maintenance]
 * Chunks are made the way the pipeline makes them (generated ChatGPT conversations, the real
 * canonicaliser, chunker and offline embedder) and written straight to the table under a
 * stand-in import per user; the heavy user is kept between runs (rebuilt when its size changes).
 * For each kind of user and each query it compares, as that user (RLS, auth.uid()):
 *   - `before`: the retrieval statement as it was (HNSW over every user, then the user filter);
 *   - `after`:  public.hybrid_search_chunks / public.nearest_chunks (current generation; exact
 *               below the size threshold, iterative HNSW scan above);
 * against exact search over that user's chunks: recall@10 of the vector arm, result counts, and
 * p50/p95 ms of a whole hybrid search (keywords + vector) measured at the database client.
 * With --maintenance it also deletes the heavy generation, vacuums, re-inserts it and reports the
 * HNSW index size at each step (bloat) and the insert cost per vector.
 * Ends with one JSON line.
 */
import postgres from "postgres";
import { parseArgs } from "node:util";
import { OfflineEmbedder } from "../shared/adapters/embedder.ts";
import { chunkConversation } from "../shared/processors/chunk.ts";
import { embeddingInput } from "../shared/processors/embedding-input.ts";
import { conversation, rng } from "../shared/processors/export-generator.ts";
import { canonicalChatGpt } from "../shared/processors/ingest/chatgpt.ts";
import { keywordQuery } from "../shared/processors/chat-prompt.ts";
import { percentile } from "./_lib.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    "heavy-chunks": { type: "string", default: "78000" },
    queries: { type: "string", default: "40" },
    maintenance: { type: "boolean", default: false },
  },
});
const HEAVY = Number(args["heavy-chunks"]);
const SMALL = [60, 300, 1500, 6000];
const DB = Deno.env.get("SOULPRINT_DB_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const sql = postgres(DB, { max: 4, onnotice: () => {}, prepare: false });
const embedder = new OfflineEmbedder(768);

type Row = { conversation_id: string; chunk_index: number; title: string; content: string; created_at: string };

/** `n` chunks made the pipeline's way from generated conversations (seeded). */
function* makeChunks(seed: number, n: number): Generator<Row[]> {
  const ctx = { r: rng(seed), t: 1_672_531_200, n: 0 };
  let made = 0, batch: Row[] = [];
  while (made < n) {
    const c = canonicalChatGpt(conversation(ctx), ctx.n, "2024-01-01T00:00:00Z");
    if (!c.ok) continue;
    const conv = c.conversation;
    for (const k of chunkConversation(conv)) {
      if (made >= n) break;
      batch.push({
        conversation_id: `${seed}-${conv.id}`,
        chunk_index: k.chunk_index,
        title: conv.title,
        content: k.content,
        created_at: conv.created_at,
      });
      made++;
      if (batch.length === 500) (yield batch, batch = []);
    }
  }
  if (batch.length) yield batch;
}

/** A user with a stand-in import (diagnostic pipeline) as their current generation of `n` chunks. */
async function ensureUser(
  label: string,
  n: number,
  seed: number,
): Promise<{ id: string; gen: string; insertMs: number }> {
  const [have] = await sql`select p.user_id, p.generation_id, j.chunk_count from public.user_profiles p
    join public.processing_jobs j on j.id = p.generation_id
    join auth.users u on u.id = p.user_id where u.email = ${`${label}@bench.test`}`;
  if (have && have.chunk_count === n) return { id: have.user_id, gen: have.generation_id, insertMs: 0 };
  if (have) await sql`delete from auth.users where id = ${have.user_id}`;
  const id = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${id}, ${`${label}@bench.test`})`;
  const [job] = await sql`insert into public.processing_jobs (user_id, storage_path, pipeline_version)
                          values (${id}, ${`imports/${id}/bench.json`}, 'selftest') returning id`;
  const gen = job!.id as string;
  const insertMs = await insertChunks(id, gen, n, seed);
  await sql`update public.processing_jobs set chunk_count = ${n} where id = ${gen}`;
  await sql`insert into public.user_profiles (user_id, generation_id, import_status) values (${id}, ${gen}, 'complete')`;
  return { id, gen, insertMs };
}

/** Inserts `n` embedded chunks; returns the database time spent (ms). */
async function insertChunks(userId: string, gen: string, n: number, seed: number): Promise<number> {
  let ms = 0;
  for (const batch of makeChunks(seed, n)) {
    const { vectors } = await embedder.embed(batch.map((b) => embeddingInput(b.content)));
    const rows = batch.map((b, i) => ({ ...b, v: JSON.stringify(vectors[i]) }));
    const t0 = performance.now();
    await sql`insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content,
                token_count, message_count, created_at, embedding, embedding_model)
              select ${userId}, ${gen}, x.conversation_id, x.chunk_index, x.title, x.content, length(x.content) / 4, 1,
                     x.created_at, x.v::extensions.vector, ${embedder.model}
                from json_to_recordset(${JSON.stringify(rows)}::text::json)
                  as x(conversation_id text, chunk_index int, title text, content text, created_at timestamptz, v text)`;
    ms += performance.now() - t0;
  }
  return ms;
}

const QUESTIONS = [
  "What did I say about learning Spanish?",
  "Which recipes did I want to try?",
  "How is my garden doing?",
  "What was the bug in my Python script?",
  "Where did I plan to travel this summer?",
  "What books have I been reading lately?",
  "How do I feel about my job?",
  "What did we discuss about budgeting?",
  "Did I ask about running a marathon?",
  "What was my question about the database migration?",
];

/** Runs `fn` as the user (role and claims as PostgREST sets them). */
function asUser<T>(userId: string, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx.unsafe(`select set_config('role', 'authenticated', true),
      set_config('request.jwt.claims', '${JSON.stringify({ sub: userId, role: "authenticated" })}', true)`);
    return await fn(tx);
  }) as Promise<T>;
}

/** The retrieval statement as it was before per-generation search (HNSW over every user, then the filter). */
const beforeVector = (tx: postgres.TransactionSql, v: string) =>
  tx`select c.id from public.conversation_chunks c
      where c.user_id = (select auth.uid()) and c.embedding is not null
      order by c.embedding operator(extensions.<=>) ${v}::extensions.vector limit 30`;
const beforeHybrid = (tx: postgres.TransactionSql, kw: string, v: string) =>
  tx`with kw as (
      select c.id, row_number() over (order by ts_rank_cd(c.fts, q) desc, c.created_at desc) as rn
        from public.conversation_chunks c, to_tsquery('simple', coalesce(nullif(${kw}, ''), 'a & !a')) q
       where c.user_id = (select auth.uid()) and nullif(${kw}, '') is not null and c.fts @@ q order by rn limit 30
    ), vec as (
      select c.id, row_number() over (order by c.embedding operator(extensions.<=>) ${v}::extensions.vector) as rn
        from public.conversation_chunks c where c.user_id = (select auth.uid()) and c.embedding is not null
       order by c.embedding operator(extensions.<=>) ${v}::extensions.vector limit 30)
    select coalesce(kw.id, vec.id) as id from kw full join vec on kw.id = vec.id limit 10`;

async function measure(user: { id: string; gen: string }, queries: string[]) {
  const out = {
    before: { recall: 0, short: 0, ms: [] as number[] },
    after: { recall: 0, short: 0, ms: [] as number[] },
  };
  for (const q of queries) {
    const v = JSON.stringify((await embedder.embed([q])).vectors[0]);
    const kw = keywordQuery(q);
    const exact =
      (await sql`select id from public.conversation_chunks where job_id = ${user.gen} and embedding is not null
      order by (embedding operator(extensions.<=>) ${v}::extensions.vector) + 0 limit 10`).map((r) => r.id as string);
    for (const mode of ["before", "after"] as const) {
      const got = await asUser(
        user.id,
        async (tx) =>
          mode === "before"
            ? (await beforeVector(tx, v)).slice(0, 10).map((r) => r.id as string)
            : (await tx`select id from public.nearest_chunks(${v}::extensions.vector, 30)`).slice(0, 10).map((r) =>
              r.id as string
            ),
      );
      const hit = exact.filter((id) => got.includes(id)).length;
      out[mode].recall += exact.length ? hit / exact.length : 1;
      if (got.length < exact.length) out[mode].short++;
      const t0 = performance.now();
      await asUser(
        user.id,
        (tx) =>
          mode === "before"
            ? beforeHybrid(tx, kw, v)
            : tx`select id from public.hybrid_search_chunks(${kw}, ${v}::extensions.vector, 10)`,
      );
      out[mode].ms.push(performance.now() - t0);
    }
  }
  const summary = (m: typeof out.before) => ({
    recall_at_10: Math.round((m.recall / queries.length) * 1000) / 1000,
    short_results: m.short,
    p50_ms: Math.round(percentile(m.ms, 50) * 10) / 10,
    p95_ms: Math.round(percentile(m.ms, 95) * 10) / 10,
  });
  return { before: summary(out.before), after: summary(out.after) };
}

const indexSize = async () =>
  Number((await sql`select pg_relation_size('public.conversation_chunks_embedding_hnsw') as b`)[0]!.b);

try {
  const t0 = performance.now();
  const heavy = await ensureUser(`heavy-${HEAVY}`, HEAVY, 1);
  if (heavy.insertMs) {
    console.error(`heavy user: ${HEAVY} chunks inserted, ${(heavy.insertMs / HEAVY).toFixed(2)} ms per vector (db)`);
  }
  const small = [];
  for (const [i, n] of SMALL.entries()) small.push({ n, ...(await ensureUser(`small-${n}`, n, 100 + i)) });
  await sql`analyze public.conversation_chunks`;
  console.error(
    `setup ${((performance.now() - t0) / 1000).toFixed(0)} s; table holds ${
      (await sql`select count(*)::int as n from public.conversation_chunks`)[0]!.n
    } chunks`,
  );

  const r = rng(7);
  const queries = Array.from(
    { length: Number(args.queries) },
    (_, i) => QUESTIONS[i % QUESTIONS.length]!.replace("I", r() < 0.5 ? "I" : "we"),
  );
  const results: Record<string, unknown> = {};
  results[`heavy_${HEAVY}`] = await measure(heavy, queries);
  for (const s of small) results[`small_${s.n}`] = await measure(s, queries);
  for (const [k, v] of Object.entries(results)) console.error(k, JSON.stringify(v));

  let maintenance: Record<string, number> | undefined;
  if (args.maintenance) {
    const before = await indexSize();
    const t1 = performance.now();
    await sql`delete from public.conversation_chunks where job_id = ${heavy.gen}`;
    const deleteS = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    await sql`vacuum public.conversation_chunks`;
    const vacuumS = (performance.now() - t2) / 1000;
    const afterVacuum = await indexSize();
    const insertMs = await insertChunks(heavy.id, heavy.gen, HEAVY, 1);
    const afterReinsert = await indexSize();
    maintenance = {
      index_mb_before: Math.round(before / 1048576),
      delete_s: Math.round(deleteS * 10) / 10,
      vacuum_s: Math.round(vacuumS * 10) / 10,
      index_mb_after_vacuum: Math.round(afterVacuum / 1048576),
      index_mb_after_reinsert: Math.round(afterReinsert / 1048576),
      insert_ms_per_vector: Math.round((insertMs / HEAVY) * 100) / 100,
    };
    console.error("maintenance", JSON.stringify(maintenance));
  }
  console.log(JSON.stringify({ queries: queries.length, ...results, ...(maintenance ? { maintenance } : {}) }));
} finally {
  await sql.end();
}
