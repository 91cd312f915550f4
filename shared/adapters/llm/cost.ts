/** Job cost counters from model results (merged per stage into processing_jobs.cost). */
import type { Embedding } from "../embedder.ts";
import type { LlmResult } from "./types.ts";

export type CostCounters = Record<string, number>;

export function llmCost(rs: LlmResult[]): CostCounters {
  return {
    usd: rs.reduce((a, r) => a + r.costUsd, 0),
    llm_input_tokens: rs.reduce((a, r) => a + r.usage.input_tokens, 0),
    llm_output_tokens: rs.reduce((a, r) => a + r.usage.output_tokens, 0),
    llm_calls: rs.reduce((a, r) => a + r.calls, 0),
  };
}

export function embeddingCost(e: Embedding): CostCounters {
  return { usd: e.costUsd, embedding_input_tokens: e.tokens, embedding_calls: e.calls };
}
