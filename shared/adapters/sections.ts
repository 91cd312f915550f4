/** Sections from a scored, budgeted sample of a job's conversations (quick pass and regenerate). */
import { completeJson } from "./llm/structured.ts";
import type { LlmProvider, LlmResult } from "./llm/types.ts";
import type { ConversationStore } from "./store/conversations.ts";
import { sectionsPrompt } from "../processors/prompts.ts";
import { type ConversationStats, type SampleBudget, sectionsData, selectSample } from "../processors/sample.ts";
import { type Sections, SectionsSchema } from "../processors/schemas.ts";

export async function sectionsFromSample(
  llm: LlmProvider,
  conversations: ConversationStore,
  jobId: string,
  budget: SampleBudget,
  memoryMd?: string | null,
  /** The conversations to sample from (the quick pass's first window); default: all of the job's. */
  pool?: ConversationStats[],
): Promise<{ result: LlmResult<Sections>; sampled: number; chars: number }> {
  const chosen = selectSample(pool ?? await conversations.stats(jobId), budget);
  const convs = await conversations.load(jobId, chosen.map((c) => c.conversation_id));
  const data = sectionsData(convs, budget, memoryMd);
  const result = await completeJson(llm, {
    ...sectionsPrompt(data, memoryMd ?? undefined),
    deadline: Date.now() + 110_000,
  }, SectionsSchema);
  return { result, sampled: chosen.length, chars: data.length };
}
