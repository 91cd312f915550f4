/** The completion notification, written in the transaction that completes the job. */
import type { Conn } from "../db.ts";
import type { JobInfo, JobTotals } from "./jobs.ts";

/** The body of the `import.completed` webhook. */
export interface CompletionPayload {
  type: "import.completed";
  job_id: string;
  user_id: string;
  soulprint_ready: true;
  conversations: number;
  messages: number;
  chunks: number;
  facts: number;
}

export function completionPayload(job: Pick<JobInfo, "id" | "user_id">, totals: JobTotals): CompletionPayload {
  return {
    type: "import.completed",
    job_id: job.id,
    user_id: job.user_id,
    soulprint_ready: true,
    conversations: totals.conversation_count,
    messages: totals.message_count,
    chunks: totals.chunk_count,
    facts: totals.fact_count,
  };
}

export interface NotificationStore {
  /**
   * With a webhook configured, an outbox row (private.webhook_deliveries; its insert trigger kicks
   * the notify function, which signs and sends it, and the sweeper retries it), else a 'skipped'
   * entry in private.notifications. Idempotent per job (a retried finalize adds nothing).
   */
  enqueueCompletion(
    job: Pick<JobInfo, "id" | "user_id">,
    totals: JobTotals,
    webhookConfigured: boolean,
  ): Promise<"queued" | "skipped">;
}

export function postgresNotifications(conn: Conn): NotificationStore {
  return {
    async enqueueCompletion(job, totals, webhookConfigured) {
      if (!webhookConfigured) {
        await conn`insert into private.notifications (job_id, url, attempts, outcome, error)
                   select ${job.id}, '', 0, 'skipped', 'no COMPLETION_WEBHOOK_URL configured'
                    where not exists (select from private.notifications where job_id = ${job.id} and outcome = 'skipped')`;
        return "skipped";
      }
      await conn`insert into private.webhook_deliveries (job_id, payload)
                 values (${job.id}, ${JSON.stringify(completionPayload(job, totals))}::text::jsonb)
                 on conflict (job_id) do nothing`;
      return "queued";
    },
  };
}
