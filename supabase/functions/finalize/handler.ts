/**
 * finalize: the generation swap, in one transaction: the profile takes this import's staged
 * sections and MEMORY, totals and cost, and points at this import; every older generation's rows
 * are deleted; and the completion webhook is queued (the notify function delivers it; the job
 * never waits for the receiver).
 */
import {
  enqueueCompletionNotification,
  jobInfo,
  jobTotals,
  stagedMemory,
  stagedSections,
  swapGeneration,
} from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";
import { profileFields } from "../../../shared/processors/profile.ts";
import { importCost } from "../../../shared/processors/cost-report.ts";

export const finalize: StageFactory = (rt) =>
  createStageHandler({
    stages: ["finalize"],
    claimBatch: 1,
    async process(task, tx) {
      const job = await jobInfo(tx, task.job_id);
      const t = await jobTotals(tx, job.id);
      const staged = await stagedSections(tx, job.id);
      if (!staged) throw new PipelineError("INTERNAL", `import ${job.id} reached finalize without sections`);
      const memory = await stagedMemory(tx, job.id);
      const dropped = await swapGeneration(tx, job, {
        ...profileFields(staged.sections, memory?.memory_md ?? null),
        generated_by: staged.generated_by,
        sections_source: staged.sections_source,
        soulprint_generated_at: staged.generated_at,
        memory_md: memory?.memory_md ?? null,
        memory_status: memory?.memory_status ?? "none",
        memory_error_code: memory?.memory_error_code ?? null,
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
      });
      const notification = await enqueueCompletionNotification(tx, job, t, rt.webhook.url !== null);
      return { result: { dropped, notification } };
    },
  });
