/**
 * finalize: one verified profile write (status, totals, cost, SoulPrint text with MEMORY), the
 * old chunk generation dropped, and the completion webhook queued in the same transaction (the
 * notify function delivers it; the job never waits for the receiver).
 */
import {
  dropOldChunks,
  enqueueCompletionNotification,
  jobInfo,
  jobTotals,
  profileSections,
  writeProfile,
} from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { soulprintText } from "../../../shared/processors/render.ts";
import { importCost } from "../../../shared/processors/cost-report.ts";

export const finalize: StageFactory = (rt) =>
  createStageHandler({
    stages: ["finalize"],
    claimBatch: 1,
    async process(task, tx) {
      const job = await jobInfo(tx, task.job_id);
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
      const notification = await enqueueCompletionNotification(tx, job, t, rt.webhook.url !== null);
      return { result: { dropped_old_chunks: dropped, notification } };
    },
  });
