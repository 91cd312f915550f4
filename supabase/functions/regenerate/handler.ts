/**
 * regenerate (v2): the five sections again from the top 200 conversations plus this import's
 * MEMORY, same schema and fencing, staged for finalize. If the model cannot produce valid
 * sections, the quick-pass sections stay staged (recorded, not fatal).
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import type { LlmResult } from "../../../shared/adapters/llm/types.ts";
import { jobInfo, stagedMemory, stageSections } from "../../../shared/adapters/pipeline-store.ts";
import { sectionsFromSample } from "../../../shared/adapters/sections.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { normalizeError } from "../../../shared/processors/errors.ts";
import type { Sections } from "../../../shared/processors/schemas.ts";

const V2_BUDGET = { targetTokens: 140_000, capTokens: 150_000, maxConversations: 200, minConversations: 5 };

export const regenerate: StageFactory = (rt) =>
  createStageHandler({
    stages: ["regenerate"],
    claimBatch: 1,
    async prepare(task, db) {
      const job = await jobInfo(db, task.job_id);
      const memory_md = (await stagedMemory(db, job.id))?.memory_md ?? null;
      try {
        const { result: r } = await sectionsFromSample(rt.llm, db, job.id, V2_BUDGET, memory_md);
        return { job, memory_md, r, error: null };
      } catch (err) {
        const e = normalizeError(err);
        if (e.code !== "LLM_OUTPUT_INVALID") throw err;
        return { job, memory_md, r: null, error: e.message };
      }
    },
    async process(task, tx, pre) {
      const { r, error } = pre as { r: LlmResult<Sections> | null; error: string | null };
      if (!r) return { result: { replaced: false, error } };
      const sections = r.value!;
      await stageSections(tx, task.job_id, {
        sections,
        generated_by: `${r.provider}/${r.model}`,
        sections_source: "regenerate",
        generated_at: new Date().toISOString(),
      });
      return { counters: { cost: llmCost([r]) }, result: { replaced: true, ai_name: sections.identity.ai_name } };
    },
  });
