/** chunk: the start task fans out one task per 100 conversations; each writes their chunks. */
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type OnePhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import { payloadRange } from "../../../shared/adapters/store/conversations.ts";
import { chunkConversation } from "../../../shared/processors/chunk.ts";

const RECENT_MS = 180 * 24 * 3600 * 1000;

export const chunkStage = (): OnePhaseStoreStage => ({
  stages: ["chunk"],
  async process(task, store) {
    const job = await store.jobs.info(task.job_id);
    if (task.task_key === "chunk:start") {
      const ranges = await store.conversations.ranges(job.id, 100);
      return { newTasks: ranges.map((r, i) => ({ task_key: `chunk:batch:${i}`, payload: { ...r } })) };
    }
    const batch = (await store.conversations.inRange(job.id, payloadRange(task.payload))).map((c) => ({
      conversation: c,
      chunks: chunkConversation(c),
      isRecent: Date.parse(job.created_at) - Date.parse(c.created_at) <= RECENT_MS,
    }));
    await store.chunks.write(job, batch);
    const chunks = batch.reduce((n, b) => n + b.chunks.length, 0);
    return { counters: { chunk_count: chunks }, result: { chunks } };
  },
});

export const chunk: StageFactory = (rt) => createStoreStageHandler(chunkStage(), rt.openStore);
