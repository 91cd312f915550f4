/**
 * chunk: the start task fans out one task per range of at most 100 conversations and about
 * CHUNK_TASK_CHARS characters, and one task per LONG_PART_CHARS of each conversation longer than
 * that (a conversation can hold up to 16 MB: years of one chat); each writes its chunks.
 */
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type OnePhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import type { PipelineStore } from "../../../shared/adapters/store/mod.ts";
import type { JobInfo } from "../../../shared/adapters/store/jobs.ts";
import { payloadRange } from "../../../shared/adapters/store/conversations.ts";
import { chunkConversation } from "../../../shared/processors/chunk.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";

const RECENT_MS = 180 * 24 * 3600 * 1000;

/** Conversations per chunk task at most: about 0.75 M characters of a typical history. */
export const CHUNK_TASK_CONVERSATIONS = 100;

/**
 * Stored characters per chunk task (plus its last conversation's, itself at most this much). A
 * task's CPU and memory follow the text it cuts and writes, not its count of conversations: 100
 * conversations of real histories with long answers and pasted code (~100,000 characters each)
 * took past 2 s of CPU and 256 MB; with 2 M characters the invocations of a 1 GB real-shaped
 * import still reached 1.4-2.0 s under load, too close to the limit.
 */
export const CHUNK_TASK_CHARS = 1_000_000;

/**
 * Stored characters per task for a conversation longer than CHUNK_TASK_CHARS. Each of its tasks
 * also reads and cuts the whole conversation (a 14 MB one: 0.15-0.7 s), so its share to write is
 * bounded like a range's: 2 M-character parts took 1.0-1.6 s of CPU, 1 M ones 0.84-1.23 s.
 */
export const LONG_PART_CHARS = 1_000_000;

/** A part of a long conversation: the chunks [from, to) of `count`, `part` of `parts`. */
export function partOf(count: number, part: number, parts: number): { from: number; to: number } {
  return { from: Math.floor(count * part / parts), to: Math.floor(count * (part + 1) / parts) };
}

export const chunkStage = (): OnePhaseStoreStage => ({
  stages: ["chunk"],
  async process(task, store) {
    const job = await store.jobs.info(task.job_id);
    if (task.task_key === "chunk:start") {
      const ranges = await store.conversations.ranges(job.id, CHUNK_TASK_CONVERSATIONS, CHUNK_TASK_CHARS);
      const long = await store.conversations.larger(job.id, CHUNK_TASK_CHARS);
      return {
        newTasks: [
          ...ranges.map((r, i) => ({ task_key: `chunk:batch:${i}`, payload: { ...r } })),
          ...long.flatMap((c, i) => {
            const parts = Math.ceil(c.total_chars / LONG_PART_CHARS);
            return Array.from({ length: parts }, (_, part) => ({
              task_key: `chunk:long:${i}:${part}`,
              payload: { conversation: c.conversation_id, part, parts },
            }));
          }),
        ],
      };
    }
    const chunks = task.task_key.startsWith("chunk:long:")
      ? await writePart(store, job, task.payload)
      : await writeRange(store, job, task.payload);
    return { counters: { chunk_count: chunks }, result: { chunks } };
  },
});

const isRecent = (job: JobInfo, createdAt: string) => Date.parse(job.created_at) - Date.parse(createdAt) <= RECENT_MS;

/** A range's conversations but the long ones (their own tasks write those). */
async function writeRange(store: PipelineStore, job: JobInfo, payload: Record<string, unknown>): Promise<number> {
  const batch = (await store.conversations.inRange(job.id, payloadRange(payload), CHUNK_TASK_CHARS)).map((c) => ({
    conversation: c,
    chunks: chunkConversation(c),
    isRecent: isRecent(job, c.created_at),
  }));
  await store.chunks.write(job, batch);
  return batch.reduce((n, b) => n + b.chunks.length, 0);
}

/**
 * One part of a long conversation's chunks. Every part cuts the whole conversation (see
 * LONG_PART_CHARS) so that chunk boundaries and the overlap are the same as in one pass.
 */
async function writePart(store: PipelineStore, job: JobInfo, payload: Record<string, unknown>): Promise<number> {
  const [c] = await store.conversations.load(job.id, [String(payload.conversation)]);
  if (!c) throw new PipelineError("INTERNAL", `conversation ${String(payload.conversation)} is not stored`);
  const all = chunkConversation(c);
  const { from, to } = partOf(all.length, Number(payload.part), Number(payload.parts));
  const chunks = all.slice(from, to);
  await store.chunks.write(job, [{
    conversation: c,
    chunks,
    isRecent: isRecent(job, c.created_at),
    count: all.length,
  }]);
  return chunks.length;
}

export const chunk: StageFactory = (rt) => createStoreStageHandler(chunkStage(), rt.openStore);
