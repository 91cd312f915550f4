/** Sections from a scored, budgeted sample of a job's conversations (quick pass and regenerate). */
import { completeJson } from "./llm/structured.ts";
import type { LlmProvider, LlmResult } from "./llm/types.ts";
import type { ConversationStore } from "./store/conversations.ts";
import { sectionsPrompt } from "../processors/prompts.ts";
import { type ConversationStats, type SampleBudget, sectionsData, selectSample } from "../processors/sample.ts";
import { type Sections, SectionsSchema } from "../processors/schemas.ts";

/**
 * Conversations a sample is chosen from: the best 2,000 by score. Loading every conversation's
 * figures into the function and sorting them took over 2 s of CPU on a 5 GB export (309,000
 * conversations), and a sample takes at most 200.
 */
export const SAMPLE_CANDIDATES = 2000;

export async function sectionsFromSample(
  llm: LlmProvider,
  conversations: ConversationStore,
  jobId: string,
  budget: SampleBudget,
  memoryMd?: string | null,
  /** The conversations to sample from (the quick pass's first window); default: the job's best SAMPLE_CANDIDATES. */
  pool?: ConversationStats[],
): Promise<{ result: LlmResult<Sections>; sampled: number; chars: number }> {
  const chosen = selectSample(pool ?? await conversations.sampleCandidates(jobId, SAMPLE_CANDIDATES), budget);
  const convs = await conversations.load(jobId, chosen.map((c) => c.conversation_id));
  const data = sectionsData(convs, budget, memoryMd);
  const result = await completeJson(llm, {
    ...sectionsPrompt(data, memoryMd ?? undefined),
    deadline: Date.now() + 110_000,
  }, SectionsSchema);
  return { result, sampled: chosen.length, chars: data.length };
}
