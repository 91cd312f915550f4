/**
 * embed: batches of the embedder's batchSize chunks (keyset ranges) -> vectors at the schema's dimension. Idempotent:
 * only chunks still without an embedding are sent; texts under 3 chars are marked unembeddable.
 * vector_index (the next stage, one task): a large generation's own search index, built in the
 * database from the vectors just written.
 */
import type { Embedder, Embedding } from "../../../shared/adapters/embedder.ts";
import { embeddingCost } from "../../../shared/adapters/llm/cost.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type TwoPhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import { payloadRange } from "../../../shared/adapters/store/conversations.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";
import { embeddingInput } from "../../../shared/processors/embedding-input.ts";

/**
 * Longest a vector index build may take: one invocation must end inside the platform's 150 s
 * wall limit. 78,000 vectors build in 18-35 s; a generation that would take longer is left to
 * exact search (the task completes with `timed_out`).
 */
export const VECTOR_INDEX_BUILD_MS = 110_000;

/** A batch's chunk ids and their vectors (null for the start task and vector_index, which embed nothing). */
type Prepared = { ids: string[]; e: Embedding } | null;

export const embedStage = (embedder: Embedder): TwoPhaseStoreStage<Prepared> => ({
  stages: ["embed", "vector_index"],
  async prepare(task, { store }) {
    if (task.stage === "vector_index" || task.task_key === "embed:start") return null;
    const rows = await store.chunks.inRange(task.job_id, payloadRange(task.payload), true);
    const e = await embedder.embed(rows.map((r) => embeddingInput(r.content)), Date.now() + 100_000);
    return { ids: rows.map((r) => r.id), e };
  },
  async process(task, store, pre) {
    if (task.stage === "vector_index") {
      return { result: { ...await store.chunks.buildVectorIndex(task.job_id, VECTOR_INDEX_BUILD_MS) } };
    }
    if (pre === null) {
      const dim = await store.chunks.embeddingDimension();
      if (dim !== embedder.dimension) {
        throw new PipelineError(
          "CONFIG_INVALID",
          `embedder makes ${embedder.dimension}-d vectors; the schema stores ${dim}`,
        );
      }
      const ranges = await store.chunks.ranges(task.job_id, embedder.batchSize);
      return { newTasks: ranges.map((r, i) => ({ task_key: `embed:batch:${i}`, payload: { ...r } })) };
    }
    const { ids, e } = pre;
    await store.chunks.storeEmbeddings(embedder.model, ids.map((id, i) => ({ id, vector: e.vectors[i]! })));
    return { counters: { embedding_count: ids.length, cost: embeddingCost(e) }, result: { embedded: ids.length } };
  },
});

export const embed: StageFactory = (rt) => createStoreStageHandler(embedStage(rt.embedder), rt.openStore);
