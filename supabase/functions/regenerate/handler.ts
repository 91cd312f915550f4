/**
 * regenerate (v2): the five sections again from the top 200 conversations plus this import's
 * MEMORY, same schema and fencing, staged for finalize. If the model cannot produce valid
 * sections, the quick-pass sections stay staged (recorded, not fatal).
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import type { LlmProvider, LlmResult } from "../../../shared/adapters/llm/types.ts";
import { sectionsFromSample } from "../../../shared/adapters/sections.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type TwoPhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import { normalizeError } from "../../../shared/processors/errors.ts";
import { REGENERATE_BUDGET } from "../../../shared/processors/sample.ts";
import type { Sections } from "../../../shared/processors/schemas.ts";

/** New sections, or why there are none (the quick pass's then stay staged). */
type Prepared = { r: LlmResult<Sections>; error: null } | { r: null; error: string };

export const regenerateStage = (llm: LlmProvider): TwoPhaseStoreStage<Prepared> => ({
  stages: ["regenerate"],
  async prepare(task, { store }) {
    const memory_md = (await store.artifacts.stagedMemory(task.job_id))?.memory_md ?? null;
    try {
      const { result: r } = await sectionsFromSample(
        llm,
        store.conversations,
        task.job_id,
        REGENERATE_BUDGET,
        memory_md,
      );
      return { r, error: null };
    } catch (err) {
      const e = normalizeError(err);
      if (e.code !== "LLM_OUTPUT_INVALID") throw err;
      return { r: null, error: e.message };
    }
  },
  async process(task, store, { r, error }) {
    if (!r) return { result: { replaced: false, error } };
    const sections = r.value!;
    await store.artifacts.stageSections(task.job_id, {
      sections,
      generated_by: `${r.provider}/${r.model}`,
      sections_source: "regenerate",
      generated_at: new Date().toISOString(),
    });
    return { counters: { cost: llmCost([r]) }, result: { replaced: true, ai_name: sections.identity.ai_name } };
  },
});

export const regenerate: StageFactory = (rt) => createStoreStageHandler(regenerateStage(rt.llm), rt.openStore);
