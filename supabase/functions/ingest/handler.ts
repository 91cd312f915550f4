/**
 * ingest: one slice of an upload per task. Reads from the cursor in the task's payload,
 * writes the slice's conversations and warnings, and enqueues the next slice in the same
 * transaction that completes this one, so a crash resumes from the last committed cursor.
 */
import { recordWarnings, upsertConversations } from "../../../shared/adapters/imports.ts";
import { postgresJobs } from "../../../shared/adapters/store/jobs.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { ObjectStore } from "../../../shared/adapters/storage.ts";
import { importObject } from "../../../shared/processors/import-path.ts";
import { type IngestCursor, ingestSlice } from "../../../shared/processors/ingest/slice.ts";

/**
 * Decompressed bytes per slice. Measured on a 1 GB export: 2 MB keeps an invocation at about
 * 200 ms CPU and 60 MB of JS heap (4 MB: 80 MB) for a few percent of throughput, leaving room
 * under the 150 MB isolate limit for exports with unusually dense conversations.
 */
export const SLICE_BYTES = 2 * 1024 * 1024;

export function ingestHandler(store: ObjectStore) {
  return createStageHandler({
    stages: ["ingest"],
    claimBatch: 1,
    maxTasks: 1, // one slice per invocation keeps every invocation's CPU and memory bounded
    async process(task, tx) {
      const job = await postgresJobs(tx).info(task.job_id);
      // Checked again here: ingest reads with the service key, so only the owner's folder may be read.
      const reader = await store.open(importObject(job.storage_path, job.user_id));
      const cursor = (task.payload.cursor ?? null) as IngestCursor | null;
      const slice = await ingestSlice(reader.read, reader.size, cursor, {
        sliceBytes: SLICE_BYTES,
        fallbackTime: job.created_at,
      });
      await upsertConversations(tx, job, slice.conversations);
      await recordWarnings(tx, job.id, task.task_key, slice.warnings);
      const n = Number(task.payload.slice ?? 0);
      return {
        newTasks: slice.next
          ? [{ task_key: `ingest:slice:${n + 1}`, payload: { slice: n + 1, cursor: slice.next } }]
          : [],
        counters: {
          conversation_count: slice.conversations.length,
          message_count: slice.conversations.reduce((a, c) => a + c.messages.length, 0),
          warning_count: slice.warnings.length,
        },
        stageFraction: slice.fraction,
        result: {
          slice: n,
          bytes: slice.bytes,
          format: slice.format,
          kind: slice.kind,
          conversations: slice.conversations.length,
        },
      };
    },
  });
}
