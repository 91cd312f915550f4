/**
 * quick-pass: five sections from a scored, budgeted sample in one structured call, staged for
 * finalize. On a first import the profile takes them at once and becomes quick_ready, so the
 * person can chat while the full pass continues; a re-import leaves the current SoulPrint alone.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import type { LlmProvider, LlmResult } from "../../../shared/adapters/llm/types.ts";
import { sectionsFromSample } from "../../../shared/adapters/sections.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type TwoPhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import type { JobInfo } from "../../../shared/adapters/store/jobs.ts";
import { profileFields } from "../../../shared/processors/profile.ts";
import { QUICK_PASS_BUDGET } from "../../../shared/processors/sample.ts";
import type { Sections } from "../../../shared/processors/schemas.ts";

interface Prepared {
  job: JobInfo;
  r: LlmResult<Sections>;
  sampled: number;
  chars: number;
}

export const quickPassStage = (llm: LlmProvider): TwoPhaseStoreStage<Prepared> => ({
  stages: ["quick_pass"],
  claimBatch: 1,
  async prepare(task, { store }) {
    const job = await store.jobs.info(task.job_id);
    const { result: r, sampled, chars } = await sectionsFromSample(llm, store.conversations, job.id, QUICK_PASS_BUDGET);
    return { job, r, sampled, chars };
  },
  async process(_task, store, { job, r, sampled, chars }) {
    const sections = r.value!;
    const generated_by = `${r.provider}/${r.model}`;
    await store.artifacts.stageSections(job.id, {
      sections,
      generated_by,
      sections_source: "quick_pass",
      generated_at: new Date().toISOString(),
    });
    const first = await store.generations.claimFirst(job);
    await store.generations.writeProfile(job.user_id, {
      ...(first
        ? {
          ...profileFields(sections, null),
          generated_by,
          sections_source: "quick_pass",
          soulprint_generated_at: new Date(),
        }
        : {}),
      import_status: "quick_ready",
      import_error: null,
      progress_percent: 100,
      import_stage: "Complete",
      full_pass_status: "processing",
      full_pass_started_at: new Date(),
      full_pass_error: null,
    });
    return {
      counters: { cost: llmCost([r]) },
      result: { sampled, chars, ai_name: sections.identity.ai_name, first_generation: first },
    };
  },
});

export const quickPass: StageFactory = (rt) => createStoreStageHandler(quickPassStage(rt.llm), rt.openStore);
