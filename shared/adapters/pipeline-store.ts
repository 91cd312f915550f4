/**
 * Database access of the pipeline stages (every write keyed by a natural key). Reads take any
 * connection (a transaction included); writes take the task's transaction.
 */
import type { Chunk } from "../processors/chunk.ts";
import type { ConversationStats, RenderMessage } from "../processors/sample.ts";
import type { FactSet, Sections } from "../processors/schemas.ts";
import { PipelineError } from "../processors/errors.ts";
import type { Db } from "./db.ts";
import type { Tx } from "./tasks.ts";

/** A connection pool or a transaction: reads work on either. */
type Conn = Db | Tx;

export interface JobInfo {
  id: string;
  user_id: string;
  pipeline_version: string;
  storage_path: string;
  created_at: string;
}

export async function jobInfo(tx: Conn, jobId: string): Promise<JobInfo> {
  const [r] =
    await tx`select id, user_id, pipeline_version, storage_path, created_at from public.processing_jobs where id = ${jobId}`;
  if (!r) throw new PipelineError("NOT_FOUND", `job ${jobId} not found`);
  return { ...r, created_at: new Date(r.created_at).toISOString() } as JobInfo;
}

export async function conversationStats(tx: Conn, jobId: string): Promise<ConversationStats[]> {
  const rows =
    await tx`select conversation_id, title, created_at, message_count, user_message_count, assistant_message_count,
                               user_chars, total_chars::float8 as total_chars
                          from public.raw_conversations where job_id = ${jobId}`;
  return rows.map((r) => ({ ...r, created_at: new Date(r.created_at).toISOString() }) as unknown as ConversationStats);
}

export interface StoredConversation {
  conversation_id: string;
  title: string;
  created_at: string;
  messages: RenderMessage[];
}

export async function loadConversations(tx: Conn, jobId: string, ids: string[]): Promise<StoredConversation[]> {
  const rows = await tx`select conversation_id, title, created_at, messages from public.raw_conversations
                         where job_id = ${jobId} and conversation_id = any(${ids})`;
  const byId = new Map(rows.map((r) => [r.conversation_id as string, r]));
  return ids.flatMap((id) => {
    const r = byId.get(id);
    return r
      ? [{
        conversation_id: id,
        title: r.title,
        created_at: new Date(r.created_at).toISOString(),
        messages: r.messages,
      }]
      : [];
  });
}

/** Keyset boundaries splitting the job's rows of `table` into batches of `per`. */
export async function keysetRanges(tx: Conn, table: "conversations" | "chunks", jobId: string, per: number) {
  const rows = table === "conversations"
    ? await tx`select id from (select conversation_id as id, row_number() over (order by conversation_id) as rn
                 from public.raw_conversations where job_id = ${jobId}) t where rn % ${per} = 0 order by id`
    : await tx`select id::text as id from (select id, row_number() over (order by id) as rn
                 from public.conversation_chunks where job_id = ${jobId}) t where rn % ${per} = 0 order by id`;
  const bounds = rows.map((r) => r.id as string);
  const out: { after: string | null; upto: string | null }[] = [];
  let prev: string | null = null;
  for (const b of bounds) (out.push({ after: prev, upto: b }), prev = b);
  out.push({ after: prev, upto: null });
  return out;
}

export async function conversationsInRange(tx: Conn, jobId: string, after: string | null, upto: string | null) {
  const rows = await tx`select conversation_id, title, created_at, messages from public.raw_conversations
    where job_id = ${jobId} and (${after}::text is null or conversation_id > ${after}) and (${upto}::text is null or conversation_id <= ${upto})
    order by conversation_id`;
  return rows.map((r) => ({ ...r, created_at: new Date(r.created_at).toISOString() }) as unknown as StoredConversation);
}

/** One conversation's chunks, ready to store. */
export interface ConversationChunks {
  conversation: StoredConversation;
  chunks: Chunk[];
  isRecent: boolean;
}

/**
 * Writes the chunks of many conversations (upsert by natural key) and drops each one's chunk
 * indexes past its new count: two statements for the whole batch, whatever its size.
 */
export async function writeChunks(tx: Tx, job: JobInfo, batch: ConversationChunks[]): Promise<void> {
  if (!batch.length) return;
  const rows = batch.flatMap(({ conversation: c, chunks, isRecent }) =>
    chunks.map((k) => ({
      ...k,
      conversation_id: c.conversation_id,
      title: c.title,
      created_at: c.created_at,
      is_recent: isRecent,
    }))
  );
  if (rows.length) {
    // A chunk whose text is unchanged from the person's current generation keeps its embedding
    // (no second embedding call for a re-imported export); a retried batch keeps its own.
    await tx`insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content, token_count,
               message_count, created_at, is_recent, embedding, embedding_model, embeddable, updated_at)
             select ${job.user_id}, ${job.id}, x.conversation_id, x.chunk_index, x.title, x.content, x.token_count, x.message_count,
                    x.created_at, x.is_recent, o.embedding, o.embedding_model, length(btrim(x.content)) >= 3, now()
               from json_to_recordset(${JSON.stringify(rows)}::text::json)
                    as x(conversation_id text, chunk_index int, title text, content text, token_count int, message_count int,
                         created_at timestamptz, is_recent boolean)
               left join public.conversation_chunks o
                 on o.job_id = (select p.generation_id from public.user_profiles p where p.user_id = ${job.user_id})
                and o.job_id <> ${job.id} and o.conversation_id = x.conversation_id and o.chunk_index = x.chunk_index
                and o.content = x.content
             on conflict (job_id, conversation_id, chunk_index) do update set
               title = excluded.title, content = excluded.content, token_count = excluded.token_count,
               message_count = excluded.message_count, created_at = excluded.created_at, is_recent = excluded.is_recent,
               embedding = case when public.conversation_chunks.content = excluded.content then public.conversation_chunks.embedding end,
               embedding_model = case when public.conversation_chunks.content = excluded.content then public.conversation_chunks.embedding_model end,
               embeddable = excluded.embeddable, updated_at = now()`;
  }
  const counts = batch.map((b) => ({ conversation_id: b.conversation.conversation_id, n: b.chunks.length }));
  await tx`delete from public.conversation_chunks k
            using json_to_recordset(${JSON.stringify(counts)}::text::json) as x(conversation_id text, n int)
            where k.job_id = ${job.id} and k.conversation_id = x.conversation_id and k.chunk_index >= x.n`;
}

export async function chunksInRange(
  tx: Conn,
  jobId: string,
  after: string | null,
  upto: string | null,
  onlyUnembedded: boolean,
) {
  return await tx`select id::text as id, conversation_id, content, created_at from public.conversation_chunks
    where job_id = ${jobId} and (${after}::uuid is null or id > ${after}::uuid) and (${upto}::uuid is null or id <= ${upto}::uuid)
      and (not ${onlyUnembedded} or (embedding is null and embeddable)) order by id`;
}

/** The schema's vector dimension (the single source of truth). */
export async function embeddingDimension(tx: Conn): Promise<number> {
  const [r] = await tx`select private.embedding_dimension() as d`;
  return Number(r!.d);
}

/** Stores vectors; verifies every row was updated (lesson 7). */
export async function storeEmbeddings(tx: Tx, model: string, rows: { id: string; vector: number[] }[]): Promise<void> {
  if (!rows.length) return;
  const [r] = await tx`with v as (select * from json_to_recordset(${
    JSON.stringify(rows.map((x) => ({ id: x.id, v: JSON.stringify(x.vector) })))
  }::text::json)
                                    as x(id uuid, v text))
    , u as (update public.conversation_chunks c set embedding = v.v::extensions.vector, embedding_model = ${model}, updated_at = now()
              from v where c.id = v.id returning 1)
    select count(*)::int as n from u`;
  if (r!.n !== rows.length) throw new PipelineError("INTERNAL", `stored ${r!.n} of ${rows.length} embeddings`);
}

export async function replaceFacts(
  tx: Tx,
  job: JobInfo,
  perChunk: { chunk_id: string; conversation_id: string; date: string | null; facts: FactSet }[],
) {
  if (!perChunk.length) return 0;
  await tx`delete from public.memory_facts where job_id = ${job.id} and chunk_id = any(${
    perChunk.map((c) => c.chunk_id)
  }::uuid[])`;
  const rows = perChunk.flatMap((c) =>
    (Object.keys(c.facts) as (keyof FactSet)[]).flatMap((cat) =>
      (c.facts[cat] as unknown[]).map((f) => ({
        chunk_id: c.chunk_id,
        conversation_id: c.conversation_id,
        date: c.date,
        category: cat,
        fact: f,
      }))
    )
  );
  if (rows.length) {
    await tx`insert into public.memory_facts (user_id, job_id, chunk_id, conversation_id, conversation_date, category, fact)
      select ${job.user_id}, ${job.id}, x.chunk_id, x.conversation_id, x.date, x.category, x.fact
        from json_to_recordset(${
      JSON.stringify(rows)
    }::text::json) as x(chunk_id uuid, conversation_id text, date timestamptz, category text, fact jsonb)`;
  }
  return rows.length;
}

export async function jobFacts(tx: Conn, jobId: string): Promise<{ facts: FactSet; date: string | null }[]> {
  const rows =
    await tx`select chunk_id, conversation_date, category, fact from public.memory_facts where job_id = ${jobId} order by id`;
  const by = new Map<string, { facts: FactSet; date: string | null }>();
  for (const r of rows) {
    const e = by.get(r.chunk_id) ??
      {
        facts: { preferences: [], projects: [], dates: [], beliefs: [], decisions: [] },
        date: r.conversation_date ? new Date(r.conversation_date).toISOString() : null,
      };
    (e.facts[r.category as keyof FactSet] as unknown[]).push(r.fact);
    by.set(r.chunk_id, e);
  }
  return [...by.values()];
}

export async function putArtifact(tx: Tx, jobId: string, name: string, content: unknown) {
  await tx`insert into private.job_artifacts (job_id, name, content) values (${jobId}, ${name}, ${
    tx.json(content as never)
  })
           on conflict (job_id, name) do update set content = excluded.content, updated_at = now()`;
}

export async function getArtifact<T>(tx: Conn, jobId: string, name: string): Promise<T | null> {
  const [r] = await tx`select content from private.job_artifacts where job_id = ${jobId} and name = ${name}`;
  return (r?.content ?? null) as T | null;
}

/** Upserts the SoulPrint fields of a profile; verifies the row (lesson 7). */
export async function writeProfile(tx: Tx, userId: string, fields: Record<string, unknown>): Promise<void> {
  const cols = Object.keys(fields);
  const [r] = await tx`insert into public.user_profiles ${
    tx({ user_id: userId, ...fields, updated_at: new Date() } as never)
  }
    on conflict (user_id) do update set ${tx({ ...fields, updated_at: new Date() } as never, ...cols, "updated_at")}
    returning user_id`;
  if (!r) throw new PipelineError("INTERNAL", `profile write for ${userId} affected no row`);
}

/** A generation's SoulPrint sections as staged by quick-pass or regenerate (job artifact `sections`). */
export interface StagedSections {
  sections: Sections;
  generated_by: string;
  sections_source: "quick_pass" | "regenerate";
  generated_at: string;
}

/** A generation's MEMORY as staged by the memory stage (job artifact `memory`). */
export interface StagedMemory {
  memory_md: string | null;
  memory_status: "ready" | "degraded";
  memory_error_code: string | null;
}

export const stageSections = (tx: Tx, jobId: string, s: StagedSections) => putArtifact(tx, jobId, "sections", s);
export const stagedSections = (tx: Conn, jobId: string) => getArtifact<StagedSections>(tx, jobId, "sections");
export const stageMemory = (tx: Tx, jobId: string, m: StagedMemory) => putArtifact(tx, jobId, "memory", m);
export const stagedMemory = (tx: Conn, jobId: string) => getArtifact<StagedMemory>(tx, jobId, "memory");

/**
 * Makes the import the person's current generation when they have none yet (a first import), so
 * they can chat with its quick-pass SoulPrint while the full pass runs. Returns whether it did;
 * a re-import leaves the current generation alone until finalize swaps it.
 */
export async function claimFirstGeneration(tx: Tx, job: JobInfo): Promise<boolean> {
  const [r] = await tx`insert into public.user_profiles (user_id, generation_id) values (${job.user_id}, ${job.id})
    on conflict (user_id) do update set generation_id = coalesce(public.user_profiles.generation_id, excluded.generation_id)
    returning generation_id = ${job.id} as mine`;
  return r!.mine === true;
}

export async function jobTotals(tx: Conn, jobId: string) {
  const [r] =
    await tx`select conversation_count, message_count, chunk_count, embedding_count, fact_count, cost_usd::float8 as cost_usd, cost
                         from public.processing_jobs where id = ${jobId}`;
  return r!;
}

/**
 * Makes `job` the person's current generation and deletes every other generation's rows
 * (facts, chunks, conversations, intermediate documents), in the caller's transaction: readers see the old SoulPrint or
 * the new one, never a mixture. Returns the number of rows deleted per table.
 */
export async function swapGeneration(tx: Tx, job: JobInfo, fields: Record<string, unknown>) {
  await writeProfile(tx, job.user_id, { ...fields, generation_id: job.id });
  const facts = await tx`delete from public.memory_facts where user_id = ${job.user_id} and job_id <> ${job.id}`;
  const chunks =
    await tx`delete from public.conversation_chunks where user_id = ${job.user_id} and job_id <> ${job.id}`;
  const convs = await tx`delete from public.raw_conversations where user_id = ${job.user_id} and job_id <> ${job.id}`;
  await tx`delete from private.job_artifacts a using public.processing_jobs j
            where j.id = a.job_id and j.user_id = ${job.user_id} and j.id <> ${job.id}`;
  return { facts: facts.count, chunks: chunks.count, conversations: convs.count };
}

/**
 * The completion notification, written in the transaction that completes the job: with a
 * webhook configured, an outbox row (private.webhook_deliveries; its insert trigger kicks the
 * notify function, which signs and sends it, and the sweeper retries it), else a 'skipped'
 * entry in private.notifications. Idempotent per job (a retried finalize adds nothing).
 * @returns "queued" or "skipped"
 */
export async function enqueueCompletionNotification(
  tx: Tx,
  job: JobInfo,
  totals: Awaited<ReturnType<typeof jobTotals>>,
  webhookConfigured: boolean,
): Promise<"queued" | "skipped"> {
  if (!webhookConfigured) {
    await tx`insert into private.notifications (job_id, url, attempts, outcome, error)
             select ${job.id}, '', 0, 'skipped', 'no COMPLETION_WEBHOOK_URL configured'
              where not exists (select from private.notifications where job_id = ${job.id} and outcome = 'skipped')`;
    return "skipped";
  }
  const payload = {
    type: "import.completed",
    job_id: job.id,
    user_id: job.user_id,
    soulprint_ready: true,
    conversations: totals.conversation_count,
    messages: totals.message_count,
    chunks: totals.chunk_count,
    facts: totals.fact_count,
  };
  await tx`insert into private.webhook_deliveries (job_id, payload) values (${job.id}, ${tx.json(payload)})
           on conflict (job_id) do nothing`;
  return "queued";
}
