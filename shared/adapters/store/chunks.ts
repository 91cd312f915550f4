/** A job's searchable chunks (public.conversation_chunks) and their embeddings. */
import type { Chunk } from "../../processors/chunk.ts";
import { PipelineError } from "../../processors/errors.ts";
import { searchDocument } from "../../processors/search-terms.ts";
import type { Conn } from "../db.ts";
import { withinTime } from "./bounded.ts";
import { type KeyRange, rangesFromBounds, type StoredConversation } from "./conversations.ts";
import type { JobInfo } from "./jobs.ts";

/** One conversation's chunks, ready to store. */
export interface ConversationChunks {
  conversation: StoredConversation;
  chunks: Chunk[];
  isRecent: boolean;
  /**
   * The conversation's whole chunk count when `chunks` are a part of them (a long conversation is
   * written by several tasks); chunk indexes from it on are dropped. @default chunks.length
   */
  count?: number;
}

/** A stored chunk, as the embed stage reads it. */
export interface StoredChunk {
  id: string;
  conversation_id: string;
  content: string;
  /** ISO-8601 UTC. */
  created_at: string;
}

export interface ChunkStore {
  /**
   * Writes the chunks of many conversations (upsert on (job, conversation, chunk index)) and
   * drops each one's chunk indexes past its new count. A chunk keeps its embedding when its text
   * is unchanged from the same chunk of the person's current generation or of this job's earlier
   * write; texts under 3 characters (trimmed) are marked not embeddable.
   */
  write(job: Pick<JobInfo, "id" | "user_id">, batch: ConversationChunks[]): Promise<void>;
  /** Keyset ranges of `per` chunks each (by chunk id), the last open-ended. */
  ranges(jobId: string, per: number): Promise<KeyRange[]>;
  /** The chunks of a range by id; with `onlyUnembedded`, those still to embed. */
  inRange(jobId: string, range: KeyRange, onlyUnembedded: boolean): Promise<StoredChunk[]>;
  /** Each conversation's first chunk id (where its facts are attributed), by conversation id. */
  firstChunks(jobId: string, conversationIds: string[]): Promise<Map<string, string>>;
  /** The schema's vector dimension (the single source of truth). */
  embeddingDimension(): Promise<number>;
  /** Stores vectors by chunk id. @throws PipelineError INTERNAL when a chunk is missing. */
  storeEmbeddings(model: string, rows: { id: string; vector: number[] }[]): Promise<void>;
  /**
   * Builds (or rebuilds) the job's own vector index when it holds more vectors than exact search
   * serves well (private.build_generation_vector_index); a smaller job gets none. A build that
   * would run past `timeoutMs` is abandoned (nothing kept, `timed_out`): the generation is then
   * searched exactly, which is right, only slower, and the import goes on.
   */
  buildVectorIndex(jobId: string, timeoutMs: number): Promise<VectorIndexBuild>;
}

export interface VectorIndexBuild {
  /** False when the generation is small enough for exact search, or the build ran out of time. */
  built: boolean;
  vectors: number;
  build_ms: number;
  timed_out?: boolean;
}

/** `x` rounded to 7 decimal places (its shortest text is then at most ~10 characters). */
const round7 = (x: number) => Math.round(x * 1e7) / 1e7;

export function postgresChunks(conn: Conn): ChunkStore {
  return {
    async write(job, batch) {
      if (!batch.length) return;
      const rows = batch.flatMap(({ conversation: c, chunks, isRecent }) => chunks.map((k) => ({ ...k, c, isRecent })));
      if (rows.length) {
        // One statement: a chunk rewritten with other text loses its vector; a new chunk whose
        // text is unchanged from the same chunk of the person's current generation gets that
        // generation's vector (no second embedding call for a re-imported export); a retried
        // batch keeps its own (same text, same row). The data-modifying parts all see the rows as
        // they were before the statement, so the stale vectors are found by the old text.
        // Columns travel as arrays, one literal each, read by unnest: a JSON document of the rows
        // was parsed twice (its cast to json validates it, json_to_recordset parses it again),
        // ~0.2 ms a chunk of the statement's ~0.6. The keyword document is made here, not by the
        // database (search-terms.ts says why). Booleans go as text: the driver sends a boolean
        // array as a single boolean. The chunk a row replaces, and the current generation's chunk a
        // re-import's row may take the vector of, are each found by their own key lookup (a
        // lateral kept a per-row probe by `offset 0`, as the surplus delete below): as a join, a new
        // import's job looked small to the planner whenever autoanalyze had last run before it grew,
        // and every batch hashed all of the job's chunks written so far, their text included (a
        // 1 GB import's chunk writes went from 50 to 151 ms each, the stage from 45 to 75-87 s, in
        // some runs and not others).
        const col = <T>(f: (r: typeof rows[number]) => T) => rows.map(f);
        await conn`with x as materialized (
                 select * from unnest(${col((r) => r.c.conversation_id)}::text[], ${col((r) => r.chunk_index)}::int[],
                        ${col((r) => r.c.title)}::text[], ${col((r) => r.content)}::text[],
                        ${col((r) => r.token_count)}::int[], ${col((r) => r.message_count)}::int[],
                        ${col((r) => r.c.created_at)}::timestamptz[], ${
          col((r) => String(r.isRecent))
        }::text[]::boolean[],
                        ${col((r) => searchDocument(r.c.title, r.content))}::tsvector[])
                   as x(conversation_id, chunk_index, title, content, token_count, message_count, created_at, is_recent, fts))
               , stale as (
                 delete from public.chunk_embeddings e
                  using x cross join lateral (
                          select c.id, c.content from public.conversation_chunks c
                           where c.job_id = ${job.id} and c.conversation_id = x.conversation_id
                             and c.chunk_index = x.chunk_index offset 0) c
                  where c.content <> x.content and e.chunk_id = c.id)
               , up as (
                 insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content,
                        token_count, message_count, created_at, is_recent, fts, embeddable, updated_at)
                 select ${job.user_id}, ${job.id}, x.conversation_id, x.chunk_index, x.title, x.content, x.token_count,
                        x.message_count, x.created_at, x.is_recent, x.fts, length(btrim(x.content)) >= 3, now()
                   from x
                 on conflict (job_id, conversation_id, chunk_index) do update set
                   title = excluded.title, content = excluded.content, token_count = excluded.token_count,
                   message_count = excluded.message_count, created_at = excluded.created_at, is_recent = excluded.is_recent,
                   fts = excluded.fts, embeddable = excluded.embeddable, updated_at = now()
                 returning id, conversation_id, chunk_index, content)
               insert into public.chunk_embeddings (chunk_id, job_id, user_id, model, embedding)
               select up.id, ${job.id}, ${job.user_id}, e.model, e.embedding
                 from up
                 cross join lateral (
                        select o.id from public.conversation_chunks o
                         where o.job_id = (select p.generation_id from public.user_profiles p where p.user_id = ${job.user_id})
                           and o.job_id <> ${job.id} and o.conversation_id = up.conversation_id
                           and o.chunk_index = up.chunk_index and o.content = up.content offset 0) o
                 join public.chunk_embeddings e on e.chunk_id = o.id
               on conflict (chunk_id) do nothing`;
      }
      const counts = batch.map((b) => ({
        conversation_id: b.conversation.conversation_id,
        n: b.count ?? b.chunks.length,
      }));
      // Each conversation's surplus by its own index lookup (offset 0 keeps the lateral a per-row
      // probe): as a join, a new import's job looked small to the planner, which then hashed all
      // of its chunks written so far on every batch, quadratic over the stage (8,000 rows read per
      // batch at 256 MB; a 1 GB import's 616 batches read 24 million).
      await conn`delete from public.conversation_chunks k
                  where k.id in (
                    select c.id from json_to_recordset(${
        JSON.stringify(counts)
      }::text::json) as x(conversation_id text, n int)
                    cross join lateral (select c.id from public.conversation_chunks c
                                         where c.job_id = ${job.id} and c.conversation_id = x.conversation_id
                                           and c.chunk_index >= x.n offset 0) c)`;
    },
    async ranges(jobId, per) {
      const rows = await conn`select id::text as id from (select id, row_number() over (order by id) as rn
                                from public.conversation_chunks where job_id = ${jobId}) t where rn % ${per} = 0 order by id`;
      return rangesFromBounds(rows.map((r) => String(r.id)));
    },
    async inRange(jobId, { after, upto }, onlyUnembedded) {
      const rows =
        await conn`select id::text as id, conversation_id, content, created_at from public.conversation_chunks
        where job_id = ${jobId} and (${after}::uuid is null or id > ${after}::uuid) and (${upto}::uuid is null or id <= ${upto}::uuid)
          and (not ${onlyUnembedded} or (embeddable and not exists (
                 select from public.chunk_embeddings e where e.chunk_id = conversation_chunks.id)))
        order by id`;
      return rows.map((r) => ({
        id: String(r.id),
        conversation_id: String(r.conversation_id),
        content: String(r.content),
        created_at: new Date(r.created_at).toISOString(),
      }));
    },
    async firstChunks(jobId, conversationIds) {
      // One index probe per conversation (the lateral's `limit 1`): with `conversation_id = any(...)`
      // the planner, reading statistics taken while the job's chunks were still being written,
      // could walk all of them (4-18 ms a call at 15,000 chunks, against ~0.5 ms probed).
      const rows = await conn`select x.conversation_id, c.id::text as id
        from unnest(${conversationIds}::text[]) as x(conversation_id)
        cross join lateral (select c.id from public.conversation_chunks c
                             where c.job_id = ${jobId} and c.conversation_id = x.conversation_id
                             order by c.chunk_index limit 1) c`;
      return new Map(rows.map((x) => [String(x.conversation_id), String(x.id)]));
    },
    async embeddingDimension() {
      const [r] = await conn`select private.embedding_dimension() as d`;
      return Number(r?.d);
    },
    async buildVectorIndex(jobId, timeoutMs) {
      // Bounded, since a build too large for one invocation (the function's wall limit would kill
      // it mid-build, and every retry the same) must give up cleanly and leave the task's
      // transaction usable.
      const t0 = Date.now();
      const b = await withinTime(conn, timeoutMs, async (sp) => {
        const [r] = await sp`select private.build_generation_vector_index(${jobId}) as b`;
        return r!.b as Record<string, unknown>;
      });
      if (b === null) return { built: false, vectors: 0, build_ms: Date.now() - t0, timed_out: true };
      return { built: b.built === true, vectors: Number(b.vectors), build_ms: Number(b.build_ms) };
    },
    async storeEmbeddings(model, rows) {
      if (!rows.length) return;
      // Each vector travels as pgvector's own text form in a text[] parameter, its components
      // rounded to 7 decimals (a unit vector's components are ~0.04; half precision, which search
      // reads, steps by 3e-5 there). Parsing is the statement's main cost: full-precision doubles
      // inside a JSON document (parsed as JSON, then as a vector) cost the database 3-4x as much.
      const vectors = rows.map((x) => JSON.stringify(x.vector.map(round7)));
      // Inserted, never updated onto the chunk (20261207010000 says why); the join with the chunk
      // takes its job and owner and drops ids that are gone, which the count below then catches.
      // A retried task's second write replaces its first.
      const [r] = await conn`with v as (select x.id, x.v from unnest(${
        rows.map((x) => x.id)
      }::uuid[], ${vectors}::text[]) as x(id, v))
        , i as (insert into public.chunk_embeddings (chunk_id, job_id, user_id, model, embedding)
                select c.id, c.job_id, c.user_id, ${model}, v.v::extensions.vector
                  from v join public.conversation_chunks c on c.id = v.id
                on conflict (chunk_id) do update set model = excluded.model, embedding = excluded.embedding,
                  created_at = now()
                returning 1)
        select count(*)::int as n from i`;
      const n = Number(r?.n);
      // Verified, not assumed: a vector for a chunk that is gone must not pass silently.
      if (n !== rows.length) throw new PipelineError("INTERNAL", `stored ${n} of ${rows.length} embeddings`);
    },
  };
}
