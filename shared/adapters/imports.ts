/**
 * Database access of the ingest stage: canonical conversations (written by COPY, or upserted on
 * (job_id, conversation_id) when already in the import, with their ordinal in the export),
 * skipped-conversation warnings, and the import-wide totals its parallel slices add up to.
 */
import { messageFigures } from "../processors/sample.ts";
import type { CanonicalConversation, IngestWarning } from "../processors/ingest/types.ts";
import type { JobInfo } from "./store/jobs.ts";
import type { Tx } from "./tasks.ts";

type ImportJob = Pick<JobInfo, "id" | "user_id">;

/** A conversation to write, with its position in the export's array when known. */
export type ConversationRow = CanonicalConversation & { ordinal?: number };

/** Rows go to the database in batches of about this many characters, to bound memory. */
const BATCH_CHARS = 2 * 1024 * 1024;

/**
 * Writes the import's conversations. One seen again in the same import (re-run, duplicate id)
 * replaces its row unless the row came from later in the export (higher ordinal): slices commit
 * in any order, and the later occurrence wins as it would reading the file front to back.
 */
export async function upsertConversations(
  tx: Tx,
  job: ImportJob,
  conversations: ConversationRow[],
): Promise<WriteCounts> {
  const byId = new Map(conversations.map((c) => [c.id, c])); // last one wins within a slice
  const counts: WriteCounts = { copied: 0, upserted: 0 };
  let batch: ConversationRow[] = [], chars = 0;
  for (const c of byId.values()) {
    batch.push(c);
    chars += c.messages.reduce((a, m) => a + m.content.length + 64, 256);
    if (chars >= BATCH_CHARS) {
      counts[await upsertBatch(tx, job, batch)] += batch.length;
      batch = [];
      chars = 0;
    }
  }
  if (batch.length) counts[await upsertBatch(tx, job, batch)] += batch.length;
  return counts;
}

/** Conversations written by COPY, and by the upsert (ids already in the import, or a failed COPY). */
export interface WriteCounts {
  copied: number;
  upserted: number;
}

/**
 * Writes a batch: by COPY when none of its conversations is in the import yet (the usual case),
 * else by the upsert below. COPY is about a third of the upsert's database CPU and half its
 * client CPU: `json_to_recordset` lexes every string nested in the messages and copies it out
 * (the JSON parser un-escapes all strings when a caller wants scalars), where COPY splits lines
 * on tabs and the json column only validates its text. COPY has no ON CONFLICT, so it runs in a
 * savepoint, and if it fails (a duplicate id, a concurrent slice's row) the batch goes through
 * the upsert, whose rules decide which occurrence wins and whose error is the one reported.
 */
async function upsertBatch(tx: Tx, job: ImportJob, conversations: ConversationRow[]): Promise<keyof WriteCounts> {
  const copied = await tx.savepoint(async (sp) => {
    if (await copyBatch(sp, job, conversations)) return true;
    throw COPY_FAILED; // rolls back to the savepoint
  }).catch((e) => {
    if (e === COPY_FAILED) return false;
    throw e;
  });
  if (copied) return "copied";
  await upsertRows(tx, job, conversations);
  return "upserted";
}

const COPY_FAILED = new Error("COPY failed");

/** COPY's text format: backslash, newline, carriage return and tab escaped; `\N` is null. */
function copyField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "\\N";
  const s = String(v);
  return /[\\\n\r\t]/.test(s) ? s.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]!) : s;
}
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** COPYs the batch; false when the server refused it (the transaction is then aborted). */
async function copyBatch(sp: Tx, job: ImportJob, conversations: ConversationRow[]): Promise<boolean> {
  let text = "";
  for (const c of conversations) {
    const f = messageFigures(c.messages);
    // JSON.stringify escapes every control character, so only its backslashes need escaping.
    const messages = JSON.stringify(c.messages);
    text += [
      job.user_id,
      copyField(c.id),
      job.id,
      copyField(c.source),
      copyField(c.title),
      copyField(c.created_at),
      copyField(c.updated_at),
      copyField(c.model),
      f.message_count,
      f.user_message_count,
      f.assistant_message_count,
      f.user_chars,
      f.total_chars,
      messages.includes("\\") ? messages.replaceAll("\\", "\\\\") : messages,
      copyField(c.ordinal),
    ].join("\t") + "\n";
  }
  const copy =
    sp`copy public.raw_conversations (user_id, conversation_id, job_id, source, title, created_at, updated_at,
      model, message_count, user_message_count, assistant_message_count, user_chars, total_chars, messages, ordinal)
    from stdin`;
  // postgres.js resolves a COPY's promise with its stream (CopyInResponse), and reports how the
  // COPY ended (the server's ReadyForQuery, after CommandComplete or an error such as a unique
  // violation) only to the query object's own resolve / reject, which by then do nothing. So they
  // are wrapped here to learn the outcome (postgres.js is pinned: this relies on its Query
  // keeping both as fields). The first resolve is the stream's.
  const query = copy as unknown as { resolve: (x: unknown) => void; reject: (e: unknown) => void };
  const ended = new Promise<boolean>((settle) => {
    const { resolve, reject } = query;
    let streamed = false;
    query.resolve = (x) => {
      resolve(x);
      if (streamed) settle(true);
      streamed = true;
    };
    query.reject = (e) => (reject(e), settle(false));
  });
  const stream = await copy.writable();
  stream.on("error", () => {}); // the server refused the data: reported through `ended`
  stream.end(text);
  return await ended;
}

async function upsertRows(tx: Tx, job: ImportJob, conversations: ConversationRow[]): Promise<void> {
  const rows = conversations.map((c) => ({
    conversation_id: c.id,
    ordinal: c.ordinal ?? null,
    source: c.source,
    title: c.title,
    created_at: c.created_at,
    updated_at: c.updated_at,
    model: c.model,
    ...messageFigures(c.messages),
    messages: c.messages,
  }));
  await tx`
    insert into public.raw_conversations (user_id, conversation_id, job_id, source, title, created_at, updated_at, model,
      message_count, user_message_count, assistant_message_count, user_chars, total_chars, messages, ordinal, imported_at)
    select ${job.user_id}, x.conversation_id, ${job.id}, x.source, x.title, x.created_at, x.updated_at, x.model,
           x.message_count, x.user_message_count, x.assistant_message_count, x.user_chars, x.total_chars, x.messages,
           x.ordinal, now()
      from json_to_recordset(${
    JSON.stringify(rows)
  }::text::json) as x(conversation_id text, ordinal int, source text, title text,
           created_at timestamptz, updated_at timestamptz, model text, message_count int, user_message_count int,
           assistant_message_count int, user_chars int, total_chars bigint, messages json)
    on conflict (job_id, conversation_id) do update set
      source = excluded.source, title = excluded.title, created_at = excluded.created_at,
      updated_at = excluded.updated_at, model = excluded.model, message_count = excluded.message_count,
      user_message_count = excluded.user_message_count, assistant_message_count = excluded.assistant_message_count,
      user_chars = excluded.user_chars, total_chars = excluded.total_chars, messages = excluded.messages,
      ordinal = excluded.ordinal, imported_at = now()
    where raw_conversations.ordinal is null or excluded.ordinal is null or excluded.ordinal >= raw_conversations.ordinal`;
}

export async function recordWarnings(tx: Tx, jobId: string, taskKey: string, warnings: IngestWarning[]): Promise<void> {
  if (warnings.length === 0) return;
  // Warnings quote the export (titles, ids): keep them storable whatever it held (no NUL, and no
  // surrogate pair cut in half by the length limit).
  const storable = (s: string, max: number) => s.replaceAll("\0", "").slice(0, max).toWellFormed();
  const rows = warnings.slice(0, 200).map((w) => ({
    ref: storable(w.ref, 300),
    code: w.code,
    message: storable(w.message, 500),
  }));
  await tx`insert into private.job_warnings (job_id, task_key, ref, code, message)
           select ${jobId}, ${taskKey}, x.ref, x.code, x.message
             from jsonb_to_recordset(${tx.json(rows as never)}) as x(ref text, code text, message text)`;
}

/** What one ingest slice adds to its import's totals (kept in the slice task's result). */
export interface SliceTotals {
  kept: number;
  shaped: number;
  /** The slice reached the end of the conversations array. */
  finished: boolean;
}

/**
 * The import's totals once its last slice commits, or null while other slices are still open.
 * Slices run in parallel and finish in any order, so the one that completes last (the job row
 * is locked here, as private.complete_task would, so two finishing together take turns) adds
 * the results of the done ones to its own. Call last in the slice's transaction, right before
 * completing it.
 */
export async function importTotalsIfLast(
  tx: Tx,
  jobId: string,
  taskId: number,
  mine: SliceTotals,
): Promise<SliceTotals | null> {
  await tx`select 1 from public.processing_jobs where id = ${jobId} for no key update`;
  const [r] = await tx`
    select count(*) filter (where state in ('pending', 'failed', 'running') and id <> ${taskId})::int as open,
           coalesce(sum((result ->> 'kept')::bigint) filter (where state = 'done'), 0)::float8 as kept,
           coalesce(sum((result ->> 'shaped')::bigint) filter (where state = 'done'), 0)::float8 as shaped,
           coalesce(bool_or((result ->> 'finished')::boolean) filter (where state = 'done'), false) as finished
      from private.job_tasks where job_id = ${jobId} and stage = 'ingest'`;
  if (!r || r.open > 0) return null;
  return { kept: r.kept + mine.kept, shaped: r.shaped + mine.shaped, finished: r.finished || mine.finished };
}
