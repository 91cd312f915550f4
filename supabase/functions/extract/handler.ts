/**
 * extract (v2): one task per 8 chunks; facts per chunk in the five categories, stored with
 * provenance. An unusable reply for one chunk counts as a failure (reported) and yields no
 * facts; provider errors fail the task so the orchestrator retries it.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import type { LlmResult } from "../../../shared/adapters/llm/types.ts";
import { chunksInRange, jobInfo, keysetRanges, replaceFacts } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { normalizeError } from "../../../shared/processors/errors.ts";
import { factsPrompt } from "../../../shared/processors/prompts.ts";
import { type FactSet, FactsSchema } from "../../../shared/processors/schemas.ts";

type Extracted = { chunk_id: string; conversation_id: string; date: string | null; facts: FactSet };

export const extract: StageFactory = (rt) =>
  createStageHandler({
    stages: ["extract"],
    claimBatch: 1,
    async prepare(task, db) {
      if (task.task_key === "extract:start") return null;
      const { after, upto } = task.payload as { after: string | null; upto: string | null };
      const rows = await chunksInRange(db as never, task.job_id, after, upto, false);
      const out: Extracted[] = [], results: LlmResult[] = [];
      let failures = 0;
      for (const r of rows) {
        try {
          const res = await completeJson(rt.llm, { ...factsPrompt(r.content), deadline: Date.now() + 60_000 }, FactsSchema);
          results.push(res);
          out.push({ chunk_id: r.id, conversation_id: r.conversation_id, date: new Date(r.created_at).toISOString(), facts: res.value! });
        } catch (err) {
          if (normalizeError(err).code !== "LLM_OUTPUT_INVALID") throw err;
          failures++;
        }
      }
      return { out, results, failures };
    },
    async process(task, tx, pre) {
      if (task.task_key === "extract:start") {
        const ranges = await keysetRanges(tx, "chunks", task.job_id, 8);
        return { newTasks: ranges.map((r, i) => ({ task_key: `extract:batch:${i}`, payload: r })) };
      }
      const { out, results, failures } = pre as { out: Extracted[]; results: LlmResult[]; failures: number };
      const n = await replaceFacts(tx, await jobInfo(tx, task.job_id), out);
      return { counters: { fact_count: n, cost: llmCost(results) }, result: { chunks: out.length + failures, facts: n, failures } };
    },
  });
