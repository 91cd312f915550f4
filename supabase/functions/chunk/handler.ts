/**
 * chunk: the start task fans out one task per range of at most 100 conversations and about
 * CHUNK_TASK_CHARS characters; each writes their chunks.
 */
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type OnePhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import { payloadRange } from "../../../shared/adapters/store/conversations.ts";
import { chunkConversation } from "../../../shared/processors/chunk.ts";

const RECENT_MS = 180 * 24 * 3600 * 1000;

/** Conversations per chunk task at most: about 0.75 M characters of a typical history. */
export const CHUNK_TASK_CONVERSATIONS = 100;

/**
 * Stored characters per chunk task (plus its last conversation's). A task's CPU and memory follow
 * the text it cuts and writes, not its count of conversations: 100 conversations of real
 * histories with long answers and pasted code (~100,000 characters each) took past 2 s of CPU
 * and 256 MB, where 2 M characters take about 0.4 s.
 */
export const CHUNK_TASK_CHARS = 2_000_000;

export const chunkStage = (): OnePhaseStoreStage => ({
  stages: ["chunk"],
  async process(task, store) {
    const job = await store.jobs.info(task.job_id);
    if (task.task_key === "chunk:start") {
      const ranges = await store.conversations.ranges(job.id, CHUNK_TASK_CONVERSATIONS, CHUNK_TASK_CHARS);
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
