/**
 * The one shape every stage function has: authenticate the caller (service secret), claim
 * tasks (the kicked ids first, then the next ones for the stage), run the stage's processor on
 * each inside a transaction that also completes the task, record each failure, and answer 207
 * with completed / failed / skipped ids.
 *
 * Every invocation must end within the hosted limits (2 s CPU, 150 s wall clock), so the loop
 * checks its budgets before claiming more: it claims one task first, measures it, and then only
 * as many as the CPU and wall time left can hold at the largest cost seen so far; once none fits
 * it returns and hands off (one kick for the stage's due tasks, private.hand_off) so the rest
 * starts at once. Work a single task cannot finish in one invocation belongs in continuation
 * tasks (newTasks).
 */
import process from "node:process";
import { z } from "zod";
import { normalizeError, PipelineError } from "../processors/errors.ts";
import type { Db } from "./db.ts";
import { errorResponse, readJson, requireServiceCaller } from "./http.ts";
import type { ClaimedTask, TaskCompletion, TaskStore, Tx } from "./tasks.ts";

export interface StageDeps {
  db: Db;
  tasks: TaskStore;
  serviceKeys: readonly string[];
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
  /** This worker's memory in MB (isolateMb; null where unknown); injectable for tests. */
  memoryMb?: () => number | null;
}

/**
 * A task's work in two steps: `prepare` does the slow work (model calls) with `R` before the
 * transaction opens, so no transaction waits on it; `process` writes its result with `W`, the
 * task's transaction, which also commits the completion.
 */
export interface TwoPhaseWork<P, R, W> {
  prepare(task: ClaimedTask, read: R): Promise<P>;
  process(task: ClaimedTask, write: W, prepared: P): Promise<TaskCompletion>;
}

/** A task's work done wholly inside its transaction. */
export interface OnePhaseWork<W> {
  prepare?: undefined;
  process(task: ClaimedTask, write: W): Promise<TaskCompletion>;
}

export type StageWork<P, R, W> = TwoPhaseWork<P, R, W> | OnePhaseWork<W>;

export interface StageOptions {
  /** Stages this function serves. */
  stages: readonly string[];
  /** Claim no task that would run past this much wall time (well under the platform's 150 s). @default 60000 */
  budgetMs?: number;
  /** Claim no task that would run past this much CPU time (under the platform's 2 s). @default 1500 */
  cpuBudgetMs?: number;
  /**
   * Tasks claimed per round. @default 1: a claimed task counts against the stage's
   * max_running_per_job until it completes, so an invocation holding several ran them one after
   * another while the other invocations found the job's slots full and ended (a 1 GB import's
   * chunk stage averaged 0.9 tasks running of 4 allowed).
   */
  claimBatch?: number;
  /** Most tasks per invocation (continuations then start in a fresh invocation). @default unlimited */
  maxTasks?: number;
}

/** A stage on the database directly: prepare gets the pool, process the task's transaction. */
export type StageDefinition<P = void> = StageOptions & StageWork<P, Db, Tx>;

/** The work as one call before the transaction returning one inside it (whichever shape it has). */
export function inTwoSteps<P, R, W>(
  work: StageWork<P, R, W>,
): (task: ClaimedTask, read: R) => Promise<(write: W) => Promise<TaskCompletion>> {
  if (work.prepare === undefined) {
    const one = work;
    return (task) => Promise.resolve((write) => one.process(task, write));
  }
  const two = work;
  return async (task, read) => {
    const prepared = await two.prepare(task, read);
    return (write) => two.process(task, write, prepared);
  };
}

const Kick = z.object({
  stage: z.string(),
  task_ids: z.array(z.number().int().positive()).max(1000).optional(),
});

const log = (event: string, fields: Record<string, unknown>) => console.log(JSON.stringify({ event, ...fields }));

/**
 * CPU time this process has used, in ms; null where the runtime does not report it (the loop
 * then keeps to its wall budget). Counts every request the worker serves at once, so beside
 * other requests it over-estimates this one's share: the loop stops early, never late.
 */
export function cpuNow(): number | null {
  try {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  } catch {
    return null; // no CPU accounting in this runtime
  }
}

/**
 * Keeps `task`'s lease (private.extend_lease) before a step that may outlast it, such as a model
 * call. @throws PipelineError LEASE_LOST when the lease is no longer held.
 */
export async function extendLease(db: Db, task: ClaimedTask): Promise<void> {
  try {
    await db`select private.extend_lease(${task.id}, ${task.lease_token}::uuid)`;
  } catch (err) {
    if ((err as { code?: string }).code === "SPT01") throw new PipelineError("LEASE_LOST", (err as Error).message);
    throw err;
  }
}

/**
 * This isolate's memory in MB: its JS heap as allocated plus the external buffers it holds (null
 * where the runtime does not report it). Not the process's resident size: the hosted runtime runs
 * many isolates in one process and limits each by its own memory.
 */
export function isolateMb(): number | null {
  try {
    const m = process.memoryUsage();
    return (m.heapTotal + m.external) / 1048576;
  } catch {
    return null;
  }
}

/**
 * Isolate memory (MB) past which an invocation takes no task while another invocation of the same
 * worker holds one. A worker's invocations share its memory, and the platform ends a worker past
 * 256 MB with every task it holds, which then wait out their leases (200 s): extract reached
 * 252-269 MB resident with up to 9 invocations overlapping in one worker. Locally a worker's
 * resident size runs 60-125 MB above this figure; an extract invocation's own heap peaked at
 * 48 MB in a 5 GB import. A lone invocation always claims, so work never waits on this.
 */
export const SHARED_WORKER_MB = 100;

/**
 * Whether an invocation may claim now: always when no other invocation of this worker has a task
 * in flight (those would otherwise pick up what this one leaves, and hand off when their budgets
 * end), else only while the worker's memory is under SHARED_WORKER_MB.
 */
export function mayClaim(memoryMb: number | null, othersInFlight: number): boolean {
  return othersInFlight === 0 || memoryMb === null || memoryMb < SHARED_WORKER_MB;
}

/**
 * How many more tasks fit in this invocation: 1 before any has run (to measure one), then as many
 * as the wall and CPU time left hold at the largest per-task cost seen so far.
 */
export function tasksThatFit(
  left: { wallMs: number; cpuMs: number | null },
  largest: { wallMs: number; cpuMs: number } | null,
): number {
  if (!largest) return 1;
  const byWall = left.wallMs / Math.max(largest.wallMs, 1);
  const byCpu = left.cpuMs === null ? Infinity : left.cpuMs / Math.max(largest.cpuMs, 1);
  return Math.max(0, Math.floor(Math.min(byWall, byCpu)));
}

/** In-flight tasks of this worker, failed (retriable) if the runtime shuts the worker down. */
const inflight = new Map<number, { task: ClaimedTask; tasks: TaskStore }>();
globalThis.addEventListener?.("beforeunload", () => {
  for (const { task, tasks } of inflight.values()) {
    void tasks.fail(task, new PipelineError("TIME_BUDGET_EXCEEDED", "the function was shut down mid-task"));
  }
});

export function createStageHandler<P>(def: StageDefinition<P>) {
  const work = inTwoSteps(def);
  const budgetMs = def.budgetMs ?? 60_000;
  const cpuBudgetMs = def.cpuBudgetMs ?? 1500;
  const claimBatch = def.claimBatch ?? 1;
  const maxTasks = def.maxTasks ?? Infinity;
  return async function handle(req: Request, deps: StageDeps): Promise<Response> {
    const now = deps.now ?? Date.now;
    const started = now();
    const cpu0 = cpuNow();
    try {
      requireServiceCaller(req, deps.serviceKeys);
      const kick = Kick.safeParse(await readJson(req));
      if (!kick.success) throw new PipelineError("INPUT_INVALID", "body must be {stage, task_ids?: number[]}");
      const { stage } = kick.data;
      if (!def.stages.includes(stage)) {
        throw new PipelineError("INPUT_INVALID", `this function does not run stage ${stage}`);
      }
      const worker = `${stage}:${crypto.randomUUID().slice(0, 8)}`;
      const completed: number[] = [], skipped: number[] = [];
      const failed: { id: number; code: string; state: string }[] = [];
      const hint: number[] | null = kick.data.task_ids ?? null;
      let handled = 0;
      /** The largest wall and CPU time one task took so far (zero until one has run). */
      const largest = { wallMs: 0, cpuMs: 0 };
      while (handled < maxTasks) {
        const cpu = cpuNow();
        const fit = tasksThatFit({
          wallMs: budgetMs - (now() - started),
          cpuMs: cpu === null || cpu0 === null ? null : cpuBudgetMs - (cpu - cpu0),
        }, handled > 0 ? largest : null);
        if (fit === 0) {
          // Out of budget with work possibly left: the next invocation starts now, not at the next sweep.
          await deps.tasks.handOff(stage);
          break;
        }
        const memory = (deps.memoryMb ?? isolateMb)();
        if (!mayClaim(memory, inflight.size)) {
          log("claim.held", { stage, memoryMb: memory === null ? null : Math.round(memory), inFlight: inflight.size });
          break;
        }
        const batch = await deps.tasks.claim(stage, hint, Math.min(claimBatch, maxTasks - handled, fit), worker);
        if (batch.length === 0) break;
        for (const task of batch) {
          handled++;
          const t0 = now();
          const c0 = cpuNow();
          const base = { stage, jobId: task.job_id, taskId: task.id, taskKey: task.task_key, attempt: task.attempts };
          log("task.claimed", base);
          inflight.set(task.id, { task, tasks: deps.tasks });
          try {
            const write = await work(task, deps.db);
            const out = await deps.db.begin(async (tx) => {
              const c = await write(tx);
              return await deps.tasks.complete(tx, task, c);
            });
            completed.push(task.id);
            log("task.completed", {
              ...base,
              durationMs: now() - t0,
              advancedTo: out.advanced_to,
              enqueued: out.enqueued,
            });
          } catch (err) {
            const e = normalizeError(err);
            if (e.code === "LEASE_LOST" || e.code === "JOB_INACTIVE") {
              skipped.push(task.id);
              log("task.skipped", { ...base, code: e.code, durationMs: now() - t0 });
            } else {
              const state = await deps.tasks.fail(task, e);
              failed.push({ id: task.id, code: e.code, state });
              log(state === "dead" ? "task.dead" : "task.failed", {
                ...base,
                code: e.code,
                retriable: e.retriable,
                durationMs: now() - t0,
                message: e.message.slice(0, 300),
              });
            }
          } finally {
            inflight.delete(task.id);
            const c1 = cpuNow();
            largest.wallMs = Math.max(largest.wallMs, now() - t0);
            if (c0 !== null && c1 !== null) largest.cpuMs = Math.max(largest.cpuMs, c1 - c0);
          }
        }
      }
      // Stopped at maxTasks: a continuation enqueued while this invocation ran may have found the
      // stage's caps full when it was kicked, so wake the stage once more now that a slot is free.
      if (handled >= maxTasks) await deps.tasks.handOff(stage);
      return Response.json({ completed, failed, skipped }, { status: 207 });
    } catch (err) {
      return errorResponse(err);
    }
  };
}
