/** The quick pass's first window, read while ingest is still running (see processors/quick-window.ts). */
import type { Db } from "./db.ts";
import type { ConversationStats } from "../processors/sample.ts";
import { QUICK_WINDOW_MAX_CONVERSATIONS, type WindowOrder, windowOrder } from "../processors/quick-window.ts";

export interface QuickWindow {
  /** Sampling statistics of the conversations read so far, at most QUICK_WINDOW_MAX_CONVERSATIONS. */
  stats: ConversationStats[];
  order: WindowOrder;
}

/**
 * The window when the job is still ingesting (its quick pass started early), else null: the
 * quick pass then samples every conversation, as at its turn. Rows come in ingest order
 * (`imported_at` is the ingest step's transaction time), so the window is the file's beginning.
 */
export async function quickWindow(db: Db, jobId: string): Promise<QuickWindow | null> {
  const [job] = await db`select status from public.processing_jobs where id = ${jobId}`;
  if (job?.status !== "ingest") return null;
  const rows = await db`select conversation_id, title, created_at, message_count, user_message_count,
                               assistant_message_count, user_chars, total_chars::float8 as total_chars, imported_at
                          from public.raw_conversations where job_id = ${jobId}
                         order by imported_at, conversation_id limit ${QUICK_WINDOW_MAX_CONVERSATIONS}`;
  const iso = (t: unknown) => new Date(t as string).toISOString();
  return {
    stats: rows.map((r) => ({
      conversation_id: r.conversation_id,
      title: r.title,
      created_at: iso(r.created_at),
      message_count: r.message_count,
      user_message_count: r.user_message_count,
      assistant_message_count: r.assistant_message_count,
      user_chars: r.user_chars,
      total_chars: r.total_chars,
    })),
    order: windowOrder(rows.map((r) => ({ read_at: iso(r.imported_at), created_at: iso(r.created_at) }))),
  };
}
