/**
 * finalize: one verified profile write (status, totals, cost, SoulPrint text with MEMORY), the
 * old chunk generation dropped; then, in a second task that runs only after that write has
 * committed, the completion notification (bearer secret, 3 attempts, outcome recorded).
 */
import {
  dropOldChunks,
  jobInfo,
  jobTotals,
  profileSections,
  recordNotification,
  writeProfile,
} from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { Runtime, StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { soulprintText } from "../../../shared/processors/render.ts";
import { importCost } from "../../../shared/processors/cost-report.ts";

async function notify(
  rt: Runtime,
  body: unknown,
): Promise<{ attempts: number; status: number | null; outcome: string; error: string | null }> {
  let status: number | null = null, error: string | null = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const res = await fetch(rt.webhook.url!, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(rt.webhook.secret ? { authorization: `Bearer ${rt.webhook.secret}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      await res.body?.cancel();
      if (res.ok) return { attempts: attempt, status, outcome: "delivered", error: null };
      error = `HTTP ${res.status}`;
    } catch (e) {
      error = String(e).slice(0, 300);
    }
    await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
  return { attempts: 3, status, outcome: "failed", error };
}

export const finalize: StageFactory = (rt) =>
  createStageHandler({
    stages: ["finalize"],
    claimBatch: 1,
    async prepare(task, db) {
      if (task.task_key !== "finalize:notify") return null;
      if (!rt.webhook.url) {
        return { attempts: 0, status: null, outcome: "skipped", error: "no COMPLETION_WEBHOOK_URL configured" };
      }
      const job = await jobInfo(db, task.job_id);
      const t = await jobTotals(db, job.id);
      return await notify(rt, {
        user_id: job.user_id,
        job_id: job.id,
        soulprint_ready: true,
        conversations: t.conversation_count,
        messages: t.message_count,
        chunks: t.chunk_count,
        facts: t.fact_count,
      });
    },
    async process(task, tx, pre) {
      const job = await jobInfo(tx, task.job_id);
      if (task.task_key === "finalize:notify") {
        const n = pre as { attempts: number; status: number | null; outcome: string; error: string | null };
        await recordNotification(tx, job.id, { url: rt.webhook.url ?? "", ...n });
        return { result: n };
      }
      const t = await jobTotals(tx, job.id);
      const { sections, memory_md } = await profileSections(tx, job.user_id);
      await writeProfile(tx, job.user_id, {
        import_status: "complete",
        import_error: null,
        progress_percent: 100,
        import_stage: "Complete",
        full_pass_status: "complete",
        full_pass_completed_at: new Date(),
        full_pass_error: null,
        total_conversations: t.conversation_count,
        total_messages: t.message_count,
        total_chunks: t.chunk_count,
        total_facts: t.fact_count,
        import_cost_json: importCost(t.cost),
        ...(sections ? { soulprint_text: soulprintText(sections, memory_md) } : {}),
      });
      const dropped = await dropOldChunks(tx, job);
      return { newTasks: [{ task_key: "finalize:notify" }], result: { dropped_old_chunks: dropped } };
    },
  });
