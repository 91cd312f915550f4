/**
 * quick-pass: five sections from a scored, budgeted sample in one structured call, staged for
 * finalize. On a first import the profile takes them at once and becomes quick_ready, so the
 * person can chat while the full pass continues; a re-import leaves the current SoulPrint alone.
 *
 * On a large export it starts while ingest is still running, once ingest has read the first window
 * (private.early_stages), and samples that window. When the window does not look newest-first it
 * adds a refresh task, which runs at the stage's turn (after ingest) over the whole export.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import type { LlmProvider, LlmResult } from "../../../shared/adapters/llm/types.ts";
import { sectionsFromSample } from "../../../shared/adapters/sections.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type TwoPhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import type { QuickWindow } from "../../../shared/adapters/store/conversations.ts";
import type { JobInfo } from "../../../shared/adapters/store/jobs.ts";
import { profileFields } from "../../../shared/processors/profile.ts";
import { QUICK_PASS_BUDGET } from "../../../shared/processors/sample.ts";
import type { Sections } from "../../../shared/processors/schemas.ts";

interface Prepared {
  job: JobInfo;
  r: LlmResult<Sections>;
  sampled: number;
  chars: number;
  window: QuickWindow | null;
}

export const quickPassStage = (llm: LlmProvider): TwoPhaseStoreStage<Prepared> => ({
  stages: ["quick_pass"],
  async prepare(task, { store }) {
    const job = await store.jobs.info(task.job_id);
    const window = await store.conversations.window(job.id); // null unless ingest is still running
    const { result: r, sampled, chars } = await sectionsFromSample(
      llm,
      store.conversations,
      job.id,
      QUICK_PASS_BUDGET,
      null,
      window?.stats,
    );
    return { job, r, sampled, chars, window };
  },
  async process(task, store, { job, r, sampled, chars, window }) {
    // The refresh of an oldest-first window: the full pass was already started by the first.
    const refresh = task.task_key !== "quick_pass:start";
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
      ...(refresh ? {} : { full_pass_status: "processing", full_pass_started_at: new Date(), full_pass_error: null }),
    });
    return {
      newTasks: window && window.order !== "newest-first"
        ? [{ task_key: "quick_pass:refresh", payload: { window_order: window.order } }]
        : [],
      counters: { cost: llmCost([r]) },
      result: {
        sampled,
        chars,
        ai_name: sections.identity.ai_name,
        first_generation: first,
        window: window ? { conversations: window.stats.length, order: window.order } : null,
      },
    };
  },
});

export const quickPass: StageFactory = (rt) => createStoreStageHandler(quickPassStage(rt.llm), rt.openStore);
