/**
 * Database access of the ingest stage: the job being imported, canonical conversations
 * (upserted on (user_id, conversation_id)) and skipped-conversation warnings.
 */
import type { CanonicalConversation, IngestWarning } from "../processors/ingest/types.ts";
import type { JobInfo } from "./store/jobs.ts";
import type { Tx } from "./tasks.ts";

type ImportJob = Pick<JobInfo, "id" | "user_id">;

/** Rows go to the database in batches of about this many characters, to bound memory. */
const BATCH_CHARS = 2 * 1024 * 1024;

/** Writes the import's conversations; one seen again in the same import (re-run, duplicate id) replaces its row. */
export async function upsertConversations(
  tx: Tx,
  job: ImportJob,
  conversations: CanonicalConversation[],
): Promise<void> {
  const byId = new Map(conversations.map((c) => [c.id, c])); // last one wins within a slice
  let batch: CanonicalConversation[] = [], chars = 0;
  for (const c of byId.values()) {
    batch.push(c);
    chars += c.messages.reduce((a, m) => a + m.content.length + 64, 256);
    if (chars >= BATCH_CHARS) {
      await upsertBatch(tx, job, batch);
      batch = [];
      chars = 0;
    }
  }
  await upsertBatch(tx, job, batch);
}

async function upsertBatch(tx: Tx, job: ImportJob, conversations: CanonicalConversation[]): Promise<void> {
  if (conversations.length === 0) return;
  const rows = conversations.map((c) => ({
    conversation_id: c.id,
    source: c.source,
    title: c.title,
    created_at: c.created_at,
    updated_at: c.updated_at,
    model: c.model,
    message_count: c.messages.length,
    user_message_count: c.messages.filter((m) => m.role === "user").length,
    assistant_message_count: c.messages.filter((m) => m.role === "assistant").length,
    user_chars: c.messages.reduce((a, m) => a + (m.role === "user" ? Math.min(m.content.length, 500) : 0), 0),
    total_chars: c.messages.reduce((a, m) => a + m.content.length, 0),
    messages: c.messages,
  }));
  await tx`
    insert into public.raw_conversations (user_id, conversation_id, job_id, source, title, created_at, updated_at, model,
      message_count, user_message_count, assistant_message_count, user_chars, total_chars, messages, imported_at)
    select ${job.user_id}, x.conversation_id, ${job.id}, x.source, x.title, x.created_at, x.updated_at, x.model,
           x.message_count, x.user_message_count, x.assistant_message_count, x.user_chars, x.total_chars, x.messages, now()
      from json_to_recordset(${JSON.stringify(rows)}::text::json) as x(conversation_id text, source text, title text,
           created_at timestamptz, updated_at timestamptz, model text, message_count int, user_message_count int,
           assistant_message_count int, user_chars int, total_chars bigint, messages json)
    on conflict (job_id, conversation_id) do update set
      source = excluded.source, title = excluded.title, created_at = excluded.created_at,
      updated_at = excluded.updated_at, model = excluded.model, message_count = excluded.message_count,
      user_message_count = excluded.user_message_count, assistant_message_count = excluded.assistant_message_count,
      user_chars = excluded.user_chars, total_chars = excluded.total_chars, messages = excluded.messages, imported_at = now()`;
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
