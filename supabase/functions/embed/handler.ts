/**
 * embed: batches of 64 chunks (keyset ranges) -> vectors at the schema's dimension. Idempotent:
 * only chunks still without an embedding are sent; texts under 3 chars are marked unembeddable.
 * vector_index (the next stage, one task): a large generation's own search index, built in the
 * database from the vectors just written.
 */
import { embeddingCost } from "../../../shared/adapters/llm/cost.ts";
import {
  chunksInRange,
  embeddingDimension,
  keysetRanges,
  storeEmbeddings,
} from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import { buildGenerationVectorIndex } from "../../../shared/adapters/vector-index.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";
import { embeddingInput } from "../../../shared/processors/embedding-input.ts";

export const embed: StageFactory = (rt) =>
  createStageHandler({
    stages: ["embed", "vector_index"],
    async prepare(task, db) {
      if (task.stage === "vector_index" || task.task_key === "embed:start") return null;
      const { after, upto } = task.payload as { after: string | null; upto: string | null };
      const rows = await chunksInRange(db, task.job_id, after, upto, true);
      const texts = rows.map((r) => embeddingInput(r.content));
      const e = await rt.embedder.embed(texts, Date.now() + 100_000);
      return { ids: rows.map((r) => r.id as string), e };
    },
    async process(task, tx, pre) {
      if (task.stage === "vector_index") return { result: await buildGenerationVectorIndex(tx, task.job_id) };
      if (task.task_key === "embed:start") {
        const dim = await embeddingDimension(tx);
        if (dim !== rt.embedder.dimension) {
          throw new PipelineError(
            "CONFIG_INVALID",
            `embedder makes ${rt.embedder.dimension}-d vectors; the schema stores ${dim}`,
          );
        }
        const ranges = await keysetRanges(tx, "chunks", task.job_id, 64);
        return { newTasks: ranges.map((r, i) => ({ task_key: `embed:batch:${i}`, payload: r })) };
      }
      const { ids, e } = pre as { ids: string[]; e: Awaited<ReturnType<typeof rt.embedder.embed>> };
      await storeEmbeddings(tx, rt.embedder.model, ids.map((id, i) => ({ id, vector: e.vectors[i]! })));
      return { counters: { embedding_count: ids.length, cost: embeddingCost(e) }, result: { embedded: ids.length } };
    },
  });
