/**
 * quick-pass: five sections from a scored, budgeted sample in one structured call; the profile
 * becomes quick_ready so the person can chat while the full pass continues.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import { conversationStats, jobInfo, loadConversations, writeProfile } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { sectionsPrompt } from "../../../shared/processors/prompts.ts";
import { profileFields } from "../../../shared/processors/profile.ts";
import { QUICK_PASS_BUDGET, renderConversations, selectSample } from "../../../shared/processors/sample.ts";
import { SectionsSchema } from "../../../shared/processors/schemas.ts";

export const quickPass: StageFactory = (rt) =>
  createStageHandler({
    stages: ["quick_pass"],
    claimBatch: 1,
    async prepare(task, db) {
      const job = await jobInfo(db as never, task.job_id);
      const chosen = selectSample(await conversationStats(db as never, job.id));
      const convs = await loadConversations(db as never, job.id, chosen.map((c) => c.conversation_id));
      const data = renderConversations(convs, QUICK_PASS_BUDGET.capTokens * 4);
      const r = await completeJson(rt.llm, { ...sectionsPrompt(data), deadline: Date.now() + 110_000 }, SectionsSchema);
      return { job, r, sampled: chosen.length, chars: data.length };
    },
    async process(_task, tx, pre) {
      const { job, r, sampled, chars } = pre as { job: { user_id: string }; r: Awaited<ReturnType<typeof completeJson<unknown>>>; sampled: number; chars: number };
      const sections = SectionsSchema.parse(r.value);
      await writeProfile(tx, job.user_id, {
        ...profileFields(sections, null),
        generated_by: `${r.provider}/${r.model}`,
        sections_source: "quick_pass",
        import_status: "quick_ready",
        import_error: null,
        progress_percent: 100,
        import_stage: "Complete",
        full_pass_status: "processing",
        full_pass_started_at: new Date(),
        full_pass_error: null,
        soulprint_generated_at: new Date(),
      });
      return { counters: { cost: llmCost([r]) }, result: { sampled, chars, ai_name: sections.identity.ai_name } };
    },
  });
