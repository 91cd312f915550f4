/**
 * consolidate (v2): the job's facts deduplicated, then, when over budget, reduced by the model
 * in bounded rounds with a deterministic fallback (shared/processors/consolidate-reduce.ts).
 * A batch whose answer is unusable is kept as it was and reported (`degraded`); any other
 * failure fails the task, so the orchestrator retries it.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import type { LlmProvider, LlmResult } from "../../../shared/adapters/llm/types.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type TwoPhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import { dedupe } from "../../../shared/processors/consolidate.ts";
import { countFacts, reduceFacts, type ReduceOutcome } from "../../../shared/processors/consolidate-reduce.ts";
import { reducePrompt } from "../../../shared/processors/prompts.ts";
import { type FactSet, FactsSchema } from "../../../shared/processors/schemas.ts";

/** Facts sent on to MEMORY stay within this many tokens. */
export const FACT_BUDGET_TOKENS = 50_000;

/** One reduce call may take this long, retries included. */
const REDUCE_CALL_MS = 60_000;

type Prepared = ReduceOutcome & { results: LlmResult[] };

export const consolidateStage = (llm: LlmProvider): TwoPhaseStoreStage<Prepared> => ({
  stages: ["consolidate"],
  async prepare(task, { store, keepLease }) {
    const results: LlmResult[] = [];
    const reduceBatch = async (batch: FactSet) => {
      await keepLease(); // each reduce call may take up to a minute
      const req = { ...reducePrompt(JSON.stringify(batch)), deadline: Date.now() + REDUCE_CALL_MS };
      const r = await completeJson(llm, req, FactsSchema);
      results.push(r);
      return r.value!;
    };
    const { facts } = dedupe(await store.facts.forJob(task.job_id));
    return { ...await reduceFacts(facts, reduceBatch, { budgetTokens: FACT_BUDGET_TOKENS }), results };
  },
  async process(task, store, { facts, results, depth, batches, degraded, fallback }) {
    await store.artifacts.stageFacts(task.job_id, facts);
    return {
      counters: { cost: llmCost(results) },
      result: { facts: countFacts(facts), depth, batches, failures: degraded.length, degraded, fallback },
    };
  },
});

export const consolidate: StageFactory = (rt) => createStoreStageHandler(consolidateStage(rt.llm), rt.openStore);
