/**
 * Retrieval in a shared table: one heavy user (a 1 GB history, ~78,000 chunks) and several
 * ordinary users in the same conversation_chunks table.
 *   deno task bench:search [-- --heavy-chunks 78000 --queries 40 --maintenance]
 * Chunks are made the way the pipeline makes them (generated ChatGPT conversations, the real
 * canonicaliser, chunker and offline embedder) and written straight to the table under a
 * stand-in import per user, whose vector index is then built as the vector_index stage builds it
 * (large generations only); the heavy user is kept between runs (rebuilt when its size changes).
 * For each kind of user and each query it compares, as that user (RLS, auth.uid()),
 * public.nearest_chunks against exact search over that user's chunks: recall@10 (a result counts
 * when it is as near as the 10th exact neighbour, since generated histories hold equidistant
 * chunks), short results, and p50/p95 ms of a whole hybrid search (keywords + vector,
 * public.hybrid_search_chunks) measured at the database client.
 * With --maintenance it also deletes the heavy generation (its index table must go with it),
 * writes it again and reports the insert cost per vector and the index build time and size.
 * Then the same questions go through the query function (gateway, JWT, rate limit, retrieval,
 * offline model) for each user: p95 of the retrieval time the function reports and of the whole
 * request. Ends with one JSON line.
 */
import postgres from "postgres";
import { OfflineEmbedder } from "../shared/adapters/embedder.ts";
import { chunkConversation } from "../shared/processors/chunk.ts";
import { embeddingInput } from "../shared/processors/embedding-input.ts";
import { conversation, rng } from "../tools/export-generator.ts";
import { canonicalChatGpt } from "../shared/processors/ingest/chatgpt.ts";
import { keywordQuery } from "../shared/processors/chat-prompt.ts";
import { searchDocument } from "../shared/processors/search-terms.ts";
import { API_URL as API, benchArgs, DB_URL as DB, percentile } from "./_lib.ts";
import { userToken } from "../platform/jwt.ts";

const args = benchArgs({ "heavy-chunks": 78000, queries: 40, maintenance: false });
const HEAVY = args["heavy-chunks"];
const SMALL = [60, 300, 1500, 6000];
const envFile = new URL("../.platform/functions.env", import.meta.url);
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
): Promise<{ id: string; gen: string; insertMs: number; build: Build }> {
  const [have] = await sql`select p.user_id, p.generation_id, j.chunk_count from public.user_profiles p
    join public.processing_jobs j on j.id = p.generation_id
    join auth.users u on u.id = p.user_id where u.email = ${`${label}@bench.test`}`;
  if (have && have.chunk_count === n) {
    const [built] = await sql`select vectors, build_ms from private.generation_vector_indexes
                               where job_id = ${have.generation_id}`;
    const build = built ? { built: true, ...built } as Build : await buildIndex(have.generation_id);
    return { id: have.user_id, gen: have.generation_id, insertMs: 0, build };
  }
  // Any other state (another size, or a run stopped before the profile was written) starts over.
  await sql`delete from auth.users where email = ${`${label}@bench.test`}`;
  const id = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${id}, ${`${label}@bench.test`})`;
  const [job] = await sql`insert into public.processing_jobs (user_id, storage_path, pipeline_version)
                          values (${id}, ${`imports/${id}/bench.json`}, 'selftest') returning id`;
  const gen = job!.id as string;
  const insertMs = await insertChunks(id, gen, n, seed);
  await sql`update public.processing_jobs set chunk_count = ${n} where id = ${gen}`;
  const build = await buildIndex(gen);
  await sql`insert into public.user_profiles (user_id, generation_id, import_status) values (${id}, ${gen}, 'complete')`;
  return { id, gen, insertMs, build };
}

type Build = { built: boolean; vectors: number; build_ms: number };

/** The generation's own vector index, as the vector_index stage builds it (none for small ones). */
async function buildIndex(gen: string): Promise<Build> {
  const [r] = await sql`select private.build_generation_vector_index(${gen}) as b`;
  return r!.b as Build;
}

/** Inserts `n` embedded chunks; returns the database time spent (ms). */
async function insertChunks(userId: string, gen: string, n: number, seed: number): Promise<number> {
  let ms = 0;
  for (const batch of makeChunks(seed, n)) {
    const { vectors } = await embedder.embed(batch.map((b) => embeddingInput(b.content)));
    const rows = batch.map((b, i) => ({
      ...b,
      v: JSON.stringify(vectors[i]),
      fts: searchDocument(b.title, b.content),
    }));
    const t0 = performance.now();
    await sql`with x as materialized (
                select * from json_to_recordset(${JSON.stringify(rows)}::text::json)
                  as x(conversation_id text, chunk_index int, title text, content text, created_at timestamptz, v text,
                       fts tsvector))
              , c as (insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content,
                        token_count, message_count, created_at, fts)
                      select ${userId}, ${gen}, x.conversation_id, x.chunk_index, x.title, x.content, length(x.content) / 4, 1,
                             x.created_at, x.fts from x
                      returning id, conversation_id, chunk_index)
              insert into public.chunk_embeddings (chunk_id, job_id, user_id, model, embedding)
              select c.id, ${gen}, ${userId}, ${embedder.model}, x.v::extensions.vector
                from c join x on x.conversation_id = c.conversation_id and x.chunk_index = c.chunk_index`;
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

async function measure(user: { id: string; gen: string }, queries: string[]) {
  let recall = 0, short = 0;
  const ms: number[] = [];
  for (const q of queries) {
    const v = JSON.stringify((await embedder.embed([q])).vectors[0]);
    const exact = await sql`select chunk_id as id, (embedding operator(extensions.<=>) ${v}::extensions.vector) + 0 as d
      from public.chunk_embeddings where job_id = ${user.gen} order by 2 limit 10`;
    const kth = exact.length ? Number(exact[exact.length - 1]!.d) : 0;
    const got = await asUser(
      user.id,
      async (tx) =>
        (await tx`select id from public.nearest_chunks(${v}::extensions.vector, 30)`).slice(0, 10).map((r) =>
          r.id as string
        ),
    );
    // A hit is a result as near as the 10th exact neighbour: generated histories repeat themselves, and
    // among equally distant chunks any is right.
    const dist = got.length
      ? await sql`select (embedding operator(extensions.<=>) ${v}::extensions.vector) + 0 as d
                    from public.chunk_embeddings where chunk_id = any(${got}::uuid[])`
      : [];
    recall += exact.length
      ? Math.min(exact.length, dist.filter((r) => Number(r.d) <= kth + 1e-9).length) / exact.length
      : 1;
    if (got.length < exact.length) short++;
    const t0 = performance.now();
    await asUser(
      user.id,
      (tx) => tx`select id from public.hybrid_search_chunks(${keywordQuery(q)}, ${v}::extensions.vector, 10)`,
    );
    ms.push(performance.now() - t0);
  }
  return {
    recall_at_10: Math.round((recall / queries.length) * 1000) / 1000,
    short_results: short,
    p50_ms: Math.round(percentile(ms, 50) * 10) / 10,
    p95_ms: Math.round(percentile(ms, 95) * 10) / 10,
  };
}

/** p50/p95 of the query function's own retrieval time and of the whole request, for one user. */
async function throughFunction(userId: string, queries: string[]) {
  const token = await userToken(userId);
  const retrieval: number[] = [], total: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    const res = await fetch(`${API}/functions/v1/query`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ message: q, stream: false }),
    });
    if (res.status !== 200) throw new Error(`query ${res.status}: ${await res.text()}`);
    const body = await res.json();
    total.push(performance.now() - t0);
    retrieval.push(body.retrieval_ms);
  }
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    retrieval_p50_ms: r(percentile(retrieval, 50)),
    retrieval_p95_ms: r(percentile(retrieval, 95)),
    request_p95_ms: r(percentile(total, 95)),
  };
}

const indexTables = async (gen: string) =>
  (await sql`select count(*)::int as n from private.generation_vector_indexes where job_id = ${gen}`)[0]!.n as number;
const indexMb = async (gen: string) =>
  Math.round(
    Number((await sql`select coalesce(sum(bytes), 0) as b from ops.vector_indexes where job_id = ${gen}`)[0]!.b) /
      1048576,
  );

try {
  const t0 = performance.now();
  const heavy = await ensureUser(`heavy-${HEAVY}`, HEAVY, 1);
  if (heavy.insertMs) {
    console.error(`heavy user: ${HEAVY} chunks inserted, ${(heavy.insertMs / HEAVY).toFixed(2)} ms per vector (db)`);
  }
  console.error(`heavy user's vector index: ${JSON.stringify(heavy.build)}`);
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
    { length: args.queries },
    (_, i) => QUESTIONS[i % QUESTIONS.length]!.replace("I", r() < 0.5 ? "I" : "we"),
  );
  const results: Record<string, unknown> = {};
  results[`heavy_${HEAVY}`] = await measure(heavy, queries);
  for (const s of small) results[`small_${s.n}`] = await measure(s, queries);
  for (const [k, v] of Object.entries(results)) console.error(k, JSON.stringify(v));

  // Through the query function: the bench plays many requests as one user, so the per-user limit is lifted.
  await Deno.writeTextFile(envFile, "USER_RATE_BURST=100000\nUSER_RATE_PER_MINUTE=100000\n");
  await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  const viaFunction: Record<string, unknown> = {};
  try {
    await throughFunction(heavy.id, queries.slice(0, 3)); // boot the workers
    viaFunction[`heavy_${HEAVY}`] = await throughFunction(heavy.id, queries);
    for (const s of small) viaFunction[`small_${s.n}`] = await throughFunction(s.id, queries);
  } finally {
    await Deno.remove(envFile).catch(() => {});
    await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  }
  for (const [k, v] of Object.entries(viaFunction)) console.error(`query function, ${k}`, JSON.stringify(v));

  let maintenance: Record<string, number> | undefined;
  if (args.maintenance) {
    const before = await indexMb(heavy.gen);
    const t1 = performance.now();
    await sql`delete from public.conversation_chunks where job_id = ${heavy.gen}`;
    const deleteS = (performance.now() - t1) / 1000;
    const tablesAfterDelete = await indexTables(heavy.gen);
    const insertMs = await insertChunks(heavy.id, heavy.gen, HEAVY, 1);
    const build = await buildIndex(heavy.gen);
    maintenance = {
      index_mb_before: before,
      delete_s: Math.round(deleteS * 10) / 10,
      index_tables_after_delete: tablesAfterDelete,
      insert_ms_per_vector: Math.round((insertMs / HEAVY) * 100) / 100,
      build_s: Math.round(build.build_ms / 100) / 10,
      index_mb_after_rebuild: await indexMb(heavy.gen),
    };
    console.error("maintenance", JSON.stringify(maintenance));
  }
  console.log(
    JSON.stringify({
      queries: queries.length,
      ...results,
      heavy_index: heavy.build,
      query_function: viaFunction,
      ...(maintenance ? { maintenance } : {}),
    }),
  );
} finally {
  await sql.end();
}
