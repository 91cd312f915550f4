/**
 * ingest: one slice of an upload per task, in two steps.
 *
 * 1. Before the transaction (prepare): read and inflate the slice from the cursor in the task's
 *    payload and cut it into conversations without parsing them. That yields the next slice's
 *    cursor, which is committed at once as the next task (its insert kicks it), so the next slice
 *    runs in parallel with this one's costlier parse and write. The scan is the only sequential
 *    part of an import.
 * 2. In the transaction (process): parse and canonicalize the conversations in batches, write
 *    each batch, record warnings, and complete the task (naming the next task again, which is
 *    ignored if it exists). A crash resumes from the slice's own cursor: the slice ends at the
 *    same place on every run, so it hands off the same next task.
 *
 * Slices finish in any order. Rows carry their ordinal in the export; the import-wide checks
 * (did any conversation survive?) run in whichever slice completes last.
 */
import { importTotalsIfLast, recordWarnings, upsertConversations } from "../../../shared/adapters/imports.ts";
import { type JobInfo, postgresJobs } from "../../../shared/adapters/store/jobs.ts";
import { Phases } from "../../../shared/adapters/phases.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { ObjectStore } from "../../../shared/adapters/storage.ts";
import { enqueueContinuation, type NewTask } from "../../../shared/adapters/tasks.ts";
import { importObject } from "../../../shared/processors/import-path.ts";
import {
  emptyImportError,
  type IngestCursor,
  parseElements,
  type ScannedSlice,
  scanSlice,
} from "../../../shared/processors/ingest/slice.ts";
import type { IngestWarning } from "../../../shared/processors/ingest/types.ts";

/**
 * Decompressed bytes per slice. A slice's fixed cost (kick, claim, job lookup, storage open,
 * completion) was about 40 ms, so 2 MB slices spent half their time on it. The scan is the
 * import's sequential part (see below), so each link's fixed cost (dispatch, claim, open,
 * hand-off: ~80 ms on a busy 2-core machine) bounds the throughput: 1 GB zipped measured 49-52
 * MB/s with 8 MB slices and 55-57 with 12 MB. A 12 MB slice stays under 0.9 s CPU and grows its
 * worker by about 55 MB (its bytes, one parse batch and its COPY text), under the local pool's
 * 140 MB soft limit, so the worker stays warm; 16 MB reached 139.5 MB.
 */
export const SLICE_BYTES = 12 * 1024 * 1024;

/**
 * Slice size for data stored uncompressed (plain JSON). Its slices follow one another as a chain
 * (each scans its bytes to find where the next begins, then hands off), and a link's fixed cost
 * (hand-off, dispatch, claim, open: ~100 ms on a busy 2-core machine) held plain JSON at 45 MB/s
 * with 8 MB links. Without inflate state to keep, twice the bytes per link fit the same memory.
 */
export const STORED_SLICE_BYTES = 16 * 1024 * 1024;

/**
 * Element bytes parsed and written per batch: what is held as JS objects at once (about 10 MB of
 * heap per MB of JSON), whatever the slice size.
 */
export const PARSE_BATCH_BYTES = 1024 * 1024;

const RELEASED = { index: -1, start: 0, end: 0, bytes: null };

interface Prepared {
  job: JobInfo;
  scanned: ScannedSlice;
  next: NewTask[];
  ms: Phases;
}

export function ingestHandler(store: ObjectStore) {
  return createStageHandler({
    stages: ["ingest"],
    maxTasks: 1, // one slice per invocation keeps every invocation's CPU and memory bounded
    async prepare(task, db): Promise<Prepared> {
      const ms = new Phases();
      const job = await postgresJobs(db).info(task.job_id);
      // Checked again here: ingest reads with the service key, so only the owner's folder may be read.
      const reader = await store.open(importObject(job.storage_path, job.user_id));
      const cursor = (task.payload.cursor ?? null) as IngestCursor | null;
      ms.mark("open");
      const scanned = await scanSlice(reader.read, reader.size, cursor, {
        sliceBytes: SLICE_BYTES,
        storedSliceBytes: STORED_SLICE_BYTES,
      });
      ms.mark("scan");
      const n = Number(task.payload.slice ?? 0);
      const next = scanned.next
        ? [{ task_key: `ingest:slice:${n + 1}`, payload: { slice: n + 1, cursor: scanned.next } }]
        : [];
      if (next.length) await enqueueContinuation(db, task, next);
      ms.mark("handoff");
      return { job, scanned, next, ms };
    },
    async process(task, tx, prepared) {
      const { job, scanned, next, ms } = prepared;
      const warnings: IngestWarning[] = [];
      let kept = 0, shaped = 0, messages = 0, kind = scanned.kind;
      const written = { copied: 0, upserted: 0 };
      const opts = { fallbackTime: job.created_at };
      const firstOrdinal = scanned.elements[0]?.index ?? null;
      for (let i = 0; i < scanned.elements.length;) {
        // One batch of about PARSE_BATCH_BYTES: its objects are garbage once written.
        let j = i, bytes = 0;
        while (j < scanned.elements.length && (j === i || bytes < PARSE_BATCH_BYTES)) {
          bytes += scanned.elements[j++]!.bytes?.length ?? 0;
        }
        ms.mark("between");
        const p = parseElements(scanned.elements.slice(i, j), kind, opts);
        scanned.elements.fill(RELEASED, i, j); // parsed: their bytes may go
        ms.mark("parse");
        const w = await upsertConversations(tx, job, p.conversations);
        written.copied += w.copied;
        written.upserted += w.upserted;
        ms.mark("write");
        warnings.push(...p.warnings);
        kept += p.kept;
        shaped += p.shaped;
        messages += p.conversations.reduce((a, c) => a + c.messages.length, 0);
        kind = p.kind;
        i = j;
      }
      await recordWarnings(tx, job.id, task.task_key, warnings);
      const mine = { kept, shaped, finished: scanned.next === null };
      const totals = await importTotalsIfLast(tx, job.id, task.id, mine);
      ms.mark("finish");
      if (totals?.finished) {
        const err = emptyImportError(totals.kept, totals.shaped);
        if (err) throw err;
      }
      const n = Number(task.payload.slice ?? 0);
      return {
        newTasks: next,
        counters: { conversation_count: kept, message_count: messages, warning_count: warnings.length },
        stageFraction: scanned.fraction,
        result: {
          slice: n,
          bytes: scanned.bytes,
          format: scanned.format,
          kind,
          conversations: kept,
          written, // by COPY, and by the upsert (ids seen before in the import)
          ...mine,
          first_ordinal: firstOrdinal,
          ...ms.report(),
        },
      };
    },
  });
}
