/**
 * consolidate (v2): deduplicate the job's facts; over budget, reduce category batches with the
 * model (depth <= 3, circuit breaker after 5 failed batches), then the deterministic fallback.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import type { LlmResult } from "../../../shared/adapters/llm/types.ts";
import { jobFacts, putArtifact } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler, extendLease } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { dedupe, factTokens, truncateFacts } from "../../../shared/processors/consolidate.ts";
import { reducePrompt } from "../../../shared/processors/prompts.ts";
import { type FactSet, FactsSchema } from "../../../shared/processors/schemas.ts";

/** Facts sent on to MEMORY stay within this many tokens. */
export const FACT_BUDGET_TOKENS = 50_000;

export const consolidate: StageFactory = (rt) =>
  createStageHandler({
    stages: ["consolidate"],
    claimBatch: 1,
    async prepare(task, db) {
      let { facts } = dedupe(await jobFacts(db, task.job_id));
      const results: LlmResult[] = [];
      let depth = 0, failures = 0, fallback = false;
      while (factTokens(facts) > FACT_BUDGET_TOKENS && depth < 3 && failures < 5) {
        depth++;
        const merged: FactSet = { preferences: [], projects: [], dates: [], beliefs: [], decisions: [] };
        for (const cat of Object.keys(merged) as (keyof FactSet)[]) {
          const items = facts[cat] as unknown[];
          for (let i = 0; i < items.length; i += 400) {
            const only = {
              preferences: [],
              projects: [],
              dates: [],
              beliefs: [],
              decisions: [],
              [cat]: items.slice(i, i + 400),
            } as FactSet;
            await extendLease(db, task); // each reduce call may take up to 60 s
            try {
              const r = await completeJson(rt.llm, {
                ...reducePrompt(JSON.stringify(only)),
                deadline: Date.now() + 60_000,
              }, FactsSchema);
              results.push(r);
              (merged[cat] as unknown[]).push(...(r.value![cat] as unknown[]));
            } catch {
              failures++; // a failed batch is kept as it was
              (merged[cat] as unknown[]).push(...(only[cat] as unknown[]));
            }
          }
        }
        facts = dedupe([{ facts: merged, date: null }]).facts;
      }
      if (factTokens(facts) > FACT_BUDGET_TOKENS) {
        facts = truncateFacts(facts, FACT_BUDGET_TOKENS);
        fallback = true;
      }
      return { facts, results, depth, failures, fallback };
    },
    async process(task, tx, pre) {
      const { facts, results, depth, failures, fallback } = pre as {
        facts: FactSet;
        results: LlmResult[];
        depth: number;
        failures: number;
        fallback: boolean;
      };
      await putArtifact(tx, task.job_id, "consolidated_facts", facts);
      const total = Object.values(facts).reduce((a, v) => a + (v as unknown[]).length, 0);
      return { counters: { cost: llmCost(results) }, result: { facts: total, depth, failures, fallback } };
    },
  });
