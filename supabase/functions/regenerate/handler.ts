/**
 * regenerate (v2): the five sections again from the top 200 conversations plus MEMORY, same
 * schema and fencing. If the model cannot produce valid sections, the quick-pass sections stay
 * (recorded, not fatal).
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import { conversationStats, jobInfo, loadConversations, profileSections, writeProfile } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { normalizeError } from "../../../shared/processors/errors.ts";
import { profileFields } from "../../../shared/processors/profile.ts";
import { sectionsPrompt } from "../../../shared/processors/prompts.ts";
import { renderConversations, selectSample } from "../../../shared/processors/sample.ts";
import { SectionsSchema } from "../../../shared/processors/schemas.ts";

const V2_BUDGET = { targetTokens: 140_000, capTokens: 150_000, maxConversations: 200, minConversations: 5 };

export const regenerate: StageFactory = (rt) =>
  createStageHandler({
    stages: ["regenerate"],
    claimBatch: 1,
    async prepare(task, db) {
      const job = await jobInfo(db as never, task.job_id);
      const { memory_md } = await profileSections(db as never, job.user_id);
      const chosen = selectSample(await conversationStats(db as never, job.id), V2_BUDGET);
      const convs = await loadConversations(db as never, job.id, chosen.map((c) => c.conversation_id));
      const data = renderConversations(convs, (V2_BUDGET.capTokens - 10_000) * 4 - (memory_md?.length ?? 0));
      try {
        const r = await completeJson(rt.llm, { ...sectionsPrompt(data, memory_md ?? undefined), deadline: Date.now() + 110_000 }, SectionsSchema);
        return { job, memory_md, r, error: null };
      } catch (err) {
        const e = normalizeError(err);
        if (e.code !== "LLM_OUTPUT_INVALID") throw err;
        return { job, memory_md, r: null, error: e.message };
      }
    },
    async process(_task, tx, pre) {
      const { job, memory_md, r, error } = pre as { job: { user_id: string }; memory_md: string | null; r: Awaited<ReturnType<typeof completeJson<unknown>>> | null; error: string | null };
      if (!r) return { result: { replaced: false, error } };
      const sections = SectionsSchema.parse(r.value);
      await writeProfile(tx, job.user_id, {
        ...profileFields(sections, memory_md),
        generated_by: `${r.provider}/${r.model}`,
        sections_source: "regenerate",
        soulprint_generated_at: new Date(),
      });
      return { counters: { cost: llmCost([r]) }, result: { replaced: true, ai_name: sections.identity.ai_name } };
    },
  });
