/** chunk: the start task fans out one task per 100 conversations; each writes their chunks. */
import { conversationsInRange, jobInfo, keysetRanges, writeChunks } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { chunkConversation } from "../../../shared/processors/chunk.ts";

const RECENT_MS = 180 * 24 * 3600 * 1000;

export const chunk: StageFactory = () =>
  createStageHandler({
    stages: ["chunk"],
    async process(task, tx) {
      const job = await jobInfo(tx, task.job_id);
      if (task.task_key === "chunk:start") {
        const ranges = await keysetRanges(tx, "conversations", job.id, 100);
        return { newTasks: ranges.map((r, i) => ({ task_key: `chunk:batch:${i}`, payload: r })) };
      }
      const { after, upto } = task.payload as { after: string | null; upto: string | null };
      const batch = (await conversationsInRange(tx, job.id, after, upto)).map((c) => ({
        conversation: c,
        chunks: chunkConversation(c),
        isRecent: Date.parse(job.created_at) - Date.parse(c.created_at) <= RECENT_MS,
      }));
      await writeChunks(tx, job, batch);
      const chunks = batch.reduce((n, b) => n + b.chunks.length, 0);
      return { counters: { chunk_count: chunks }, result: { chunks } };
    },
  });
