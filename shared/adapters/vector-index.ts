/**
 * The vector_index stage's database work: a large generation's own HNSW index, built in the
 * database once its vectors are written (private.build_generation_vector_index).
 */
import type { Tx } from "./tasks.ts";

export interface VectorIndexBuild {
  /** False when the generation is small enough for exact search (no index needed). */
  built: boolean;
  vectors: number;
  build_ms: number;
}

/** Builds (or rebuilds) the index of `jobId`'s vectors in the task's transaction. */
export async function buildGenerationVectorIndex(tx: Tx, jobId: string): Promise<VectorIndexBuild> {
  const [r] = await tx`select private.build_generation_vector_index(${jobId}) as b`;
  const b = r!.b as { built: boolean; vectors: number; build_ms: number };
  return { built: b.built === true, vectors: Number(b.vectors), build_ms: Number(b.build_ms) };
}
