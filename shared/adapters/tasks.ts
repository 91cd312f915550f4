/**
 * TaskStore: the orchestrator's SQL task API (private.claim_tasks / complete_task / fail_task)
 * behind a small interface. Completion runs inside the caller's transaction so that a task's
 * results and its completion commit together.
 */
import type postgres from "postgres";
import { type ErrorCode, PipelineError } from "../processors/errors.ts";
import type { Db } from "./db.ts";

export interface ClaimedTask {
  id: number;
  job_id: string;
  stage: string;
  task_key: string;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  lease_token: string;
}

export interface NewTask {
  task_key: string;
  payload?: Record<string, unknown>;
}

/** What a processed task hands back to the orchestrator. */
export interface TaskCompletion {
  result?: Record<string, unknown>;
  /** Fan-out or continuation tasks in the same stage (duplicates by task_key are ignored). */
  newTasks?: NewTask[];
  /** Deltas for the job's counters (conversation_count, ..., cost: {usd, ...}). */
  counters?: Record<string, number | Record<string, number>>;
  /** How far the whole stage is (0..1) when the stage can tell better than task counts. */
  stageFraction?: number;
}

export type Tx = postgres.TransactionSql;

export interface TaskStore {
  /** Claims up to `limit` due tasks of `stage`; `hintIds` are the ids the kick carried. */
  claim(stage: string, hintIds: number[] | null, limit: number, worker: string): Promise<ClaimedTask[]>;
  /** Marks the task done inside `tx`. @throws PipelineError LEASE_LOST / JOB_INACTIVE */
  complete(tx: Tx, task: ClaimedTask, c: TaskCompletion): Promise<{ advanced_to: string | null; enqueued: number }>;
  /** Records a failure; returns the task's new state ('failed' | 'dead' | 'ignored'). */
  fail(task: ClaimedTask, err: PipelineError): Promise<string>;
  /** Kicks the stage once for its due tasks (called when an invocation stops on budget). */
  handOff(stage: string): Promise<void>;
}

/** Maps the orchestrator's SQLSTATEs to our codes at the boundary. */
function mapDbError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  const map: Record<string, ErrorCode> = { SPT01: "LEASE_LOST", SPT02: "JOB_INACTIVE" };
  if (code && map[code]) return new PipelineError(map[code], (err as Error).message, { cause: err });
  return err;
}

export class PostgresTaskStore implements TaskStore {
  constructor(private db: Db) {}

  async claim(stage: string, hintIds: number[] | null, limit: number, worker: string): Promise<ClaimedTask[]> {
    const rows = await this.db`
      select id, job_id, stage, task_key, payload, attempts, max_attempts, lease_token
        from private.claim_tasks(${stage}, ${hintIds}::bigint[], ${limit}, ${worker})`;
    return rows.map((r) => ({ ...r, id: Number(r.id) }) as ClaimedTask);
  }

  async complete(tx: Tx, task: ClaimedTask, c: TaskCompletion) {
    try {
      const [row] = await tx`
        select private.complete_task(${task.id}, ${task.lease_token}::uuid, ${
        c.result ? tx.json(c.result as never) : null
      },
          ${tx.json((c.newTasks ?? []) as never)}, ${tx.json((c.counters ?? {}) as never)},
          ${c.stageFraction ?? null}::numeric) as r`;
      return row!.r as { advanced_to: string | null; enqueued: number };
    } catch (err) {
      throw mapDbError(err);
    }
  }

  async fail(task: ClaimedTask, err: PipelineError): Promise<string> {
    const [row] = await this.db`
      select private.fail_task(${task.id}, ${task.lease_token}::uuid, ${err.code}, ${err.message}, ${err.retriable}) as state`;
    return row!.state as string;
  }

  async handOff(stage: string): Promise<void> {
    await this.db`select private.hand_off(${stage})`;
  }
}

/**
 * Commits continuation tasks of a running task at once, outside its work's transaction, so they
 * can start (kicked by their insert) while it is still working; completing the task with the
 * same task_keys later changes nothing. @throws PipelineError LEASE_LOST / JOB_INACTIVE
 */
export async function enqueueContinuation(db: Db, task: ClaimedTask, newTasks: NewTask[]): Promise<number> {
  try {
    const [row] = await db`
      select private.enqueue_continuation(${task.id}, ${task.lease_token}::uuid, ${db.json(newTasks as never)}) as n`;
    return Number(row!.n);
  } catch (err) {
    throw mapDbError(err);
  }
}
