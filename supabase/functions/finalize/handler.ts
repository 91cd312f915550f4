/**
 * finalize: the generation swap, in one transaction: the profile takes this import's staged
 * sections and MEMORY, totals and cost, and points at this import; every older generation's rows
 * are deleted; and the completion webhook is queued (the notify function delivers it; the job
 * never waits for the receiver).
 */
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type OnePhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";
import { profileFields } from "../../../shared/processors/profile.ts";
import { importCost } from "../../../shared/processors/cost-report.ts";

/** `webhookConfigured`: whether a completion webhook URL is set (else the notification is recorded as skipped). */
export const finalizeStage = (webhookConfigured: boolean): OnePhaseStoreStage => ({
  stages: ["finalize"],
  async process(task, store) {
    const job = await store.jobs.info(task.job_id);
    const t = await store.jobs.totals(job.id);
    const staged = await store.artifacts.stagedSections(job.id);
    if (!staged) throw new PipelineError("INTERNAL", `import ${job.id} reached finalize without sections`);
    const memory = await store.artifacts.stagedMemory(job.id);
    const dropped = await store.generations.swap(job, {
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
    const notification = await store.notifications.enqueueCompletion(job, t, webhookConfigured);
    return { result: { dropped, notification } };
  },
});

export const finalize: StageFactory = (rt) =>
  createStoreStageHandler(finalizeStage(rt.webhook.url !== null), rt.openStore);
