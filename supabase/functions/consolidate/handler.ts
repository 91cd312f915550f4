/**
 * consolidate (v2): the job's facts deduplicated, then, when over budget, reduced by the model
 * in bounded rounds with a deterministic fallback (shared/processors/consolidate-reduce.ts).
 * A batch whose answer is unusable is kept as it was and reported (`degraded`); any other
 * failure fails the task, so the orchestrator retries it.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import type { LlmResult } from "../../../shared/adapters/llm/types.ts";
import { jobFacts, putArtifact } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler, extendLease } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { dedupe } from "../../../shared/processors/consolidate.ts";
import { countFacts, reduceFacts, type ReduceOutcome } from "../../../shared/processors/consolidate-reduce.ts";
import { reducePrompt } from "../../../shared/processors/prompts.ts";
import { type FactSet, FactsSchema } from "../../../shared/processors/schemas.ts";

/** Facts sent on to MEMORY stay within this many tokens. */
export const FACT_BUDGET_TOKENS = 50_000;

/** One reduce call may take this long, retries included. */
const REDUCE_CALL_MS = 60_000;

type Prepared = ReduceOutcome & { results: LlmResult[] };

export const consolidate: StageFactory = (rt) =>
  createStageHandler({
    stages: ["consolidate"],
    claimBatch: 1,
    async prepare(task, db): Promise<Prepared> {
      const results: LlmResult[] = [];
      const reduceBatch = async (batch: FactSet) => {
        await extendLease(db, task); // each reduce call may take up to a minute
        const req = { ...reducePrompt(JSON.stringify(batch)), deadline: Date.now() + REDUCE_CALL_MS };
        const r = await completeJson(rt.llm, req, FactsSchema);
        results.push(r);
        return r.value!;
      };
      const { facts } = dedupe(await jobFacts(db, task.job_id));
      return { ...await reduceFacts(facts, reduceBatch, { budgetTokens: FACT_BUDGET_TOKENS }), results };
    },
    async process(task, tx, pre) {
      const { facts, results, depth, batches, degraded, fallback } = pre as Prepared;
      await putArtifact(tx, task.job_id, "consolidated_facts", facts);
      return {
        counters: { cost: llmCost(results) },
        result: { facts: countFacts(facts), depth, batches, failures: degraded.length, degraded, fallback },
      };
    },
  });
