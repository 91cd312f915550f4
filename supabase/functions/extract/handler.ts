/**
 * extract (v2): one task per CHUNKS_PER_CALL chunks. The person's candidate sentences are mined locally
 * (first person, no questions, hypotheticals or instructions); when there are any, one model
 * call turns them into facts in the five categories, attributed back to their chunks and
 * stored with provenance. A batch whose reply stays unusable yields no facts and is counted;
 * provider errors fail the task so the orchestrator retries it.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import type { LlmResult } from "../../../shared/adapters/llm/types.ts";
import { chunksInRange, jobInfo, keysetRanges, replaceFacts } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { normalizeError } from "../../../shared/processors/errors.ts";
import { attributeFacts, batchCandidates } from "../../../shared/processors/facts-batch.ts";
import { factsPrompt } from "../../../shared/processors/prompts.ts";
import { type FactSet, FactsSchema } from "../../../shared/processors/schemas.ts";

/**
 * Chunks per model call. A call's fixed part (instructions, the empty-category skeleton of the
 * reply) costs as much as a few dozen candidate sentences, so batches are as large as the
 * candidate cap (batchCandidates, ≈ 6000 tokens) comfortably allows for typical histories.
 */
const CHUNKS_PER_CALL = 48;

type Extracted = { chunk_id: string; conversation_id: string; date: string | null; facts: FactSet };

export const extract: StageFactory = (rt) =>
  createStageHandler({
    stages: ["extract"],
    claimBatch: 1,
    async prepare(task, db) {
      if (task.task_key === "extract:start") return null;
      const { after, upto } = task.payload as { after: string | null; upto: string | null };
      const rows = await chunksInRange(db, task.job_id, after, upto, false);
      const cands = batchCandidates(rows.map((r) => ({ id: r.id as string, content: r.content as string })));
      if (!cands.text) return { out: [], results: [], failed: false, candidates: 0 };
      let res: LlmResult<FactSet>;
      try {
        res = await completeJson(rt.llm, { ...factsPrompt(cands.text), deadline: Date.now() + 90_000 }, FactsSchema);
      } catch (err) {
        if (normalizeError(err).code !== "LLM_OUTPUT_INVALID") throw err;
        return { out: [], results: [], failed: true, candidates: cands.byChunk.size };
      }
      const byId = new Map(rows.map((r) => [r.id as string, r]));
      const out: Extracted[] = [...attributeFacts(res.value!, cands.byChunk)].map(([id, facts]) => ({
        chunk_id: id,
        conversation_id: byId.get(id)!.conversation_id,
        date: new Date(byId.get(id)!.created_at).toISOString(),
        facts,
      }));
      return { out, results: [res], failed: false, candidates: cands.byChunk.size };
    },
    async process(task, tx, pre) {
      if (task.task_key === "extract:start") {
        const ranges = await keysetRanges(tx, "chunks", task.job_id, CHUNKS_PER_CALL);
        return { newTasks: ranges.map((r, i) => ({ task_key: `extract:batch:${i}`, payload: r })) };
      }
      const { out, results, failed, candidates } = pre as {
        out: Extracted[];
        results: LlmResult[];
        failed: boolean;
        candidates: number;
      };
      const n = await replaceFacts(tx, await jobInfo(tx, task.job_id), out);
      return {
        counters: { fact_count: n, cost: llmCost(results) },
        result: { chunks_with_candidates: candidates, facts: n, failed },
      };
    },
  });
