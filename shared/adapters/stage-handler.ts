/**
 * The one shape every stage function has: authenticate the caller (service secret), claim
 * tasks (the kicked ids first, then the next ones for the stage), run the stage's processor on
 * each inside a transaction that also completes the task, record each failure, and answer 207
 * with completed / failed / skipped ids. Claiming stops when the invocation's time budget is
 * spent; what is left stays queued for the next kick or the sweeper.
 */
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
}

/** Runs one task's work; writes go through `tx`, which also commits the completion. */
export type ProcessTask = (task: ClaimedTask, tx: Tx, prepared?: unknown) => Promise<TaskCompletion>;

/** Slow work (model calls) done before the transaction opens, so no transaction waits on it. */
export type PrepareTask = (task: ClaimedTask, db: Db) => Promise<unknown>;

export interface StageDefinition {
  /** Stages this function serves. */
  stages: readonly string[];
  prepare?: PrepareTask;
  process: ProcessTask;
  /** Stop claiming after this much wall time (well under the platform's 150 s). @default 60000 */
  budgetMs?: number;
  /** Tasks claimed per round. @default 4 */
  claimBatch?: number;
  /** Most tasks per invocation (continuations then start in a fresh invocation). @default unlimited */
  maxTasks?: number;
}

const Kick = z.object({
  stage: z.string(),
  task_ids: z.array(z.number().int().positive()).max(1000).optional(),
});

const log = (event: string, fields: Record<string, unknown>) => console.log(JSON.stringify({ event, ...fields }));

/** In-flight tasks of this worker, failed (retriable) if the runtime shuts the worker down. */
const inflight = new Map<number, { task: ClaimedTask; tasks: TaskStore }>();
globalThis.addEventListener?.("beforeunload", () => {
  for (const { task, tasks } of inflight.values()) {
    void tasks.fail(task, new PipelineError("TIME_BUDGET_EXCEEDED", "the function was shut down mid-task"));
  }
});

export function createStageHandler(def: StageDefinition) {
  const budgetMs = def.budgetMs ?? 60_000;
  const claimBatch = def.claimBatch ?? 4;
  const maxTasks = def.maxTasks ?? Infinity;
  return async function handle(req: Request, deps: StageDeps): Promise<Response> {
    const now = deps.now ?? Date.now;
    const started = now();
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
      let hint: number[] | null = kick.data.task_ids ?? null;
      let handled = 0;
      while (now() - started < budgetMs && handled < maxTasks) {
        const batch = await deps.tasks.claim(stage, hint, Math.min(claimBatch, maxTasks - handled), worker);
        hint = null;
        if (batch.length === 0) break;
        for (const task of batch) {
          handled++;
          const t0 = now();
          const base = { stage, jobId: task.job_id, taskId: task.id, taskKey: task.task_key, attempt: task.attempts };
          log("task.claimed", base);
          inflight.set(task.id, { task, tasks: deps.tasks });
          try {
            const prepared = def.prepare ? await def.prepare(task, deps.db) : undefined;
            const out = await deps.db.begin(async (tx) => {
              const c = await def.process(task, tx, prepared);
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
          }
        }
      }
      return Response.json({ completed, failed, skipped }, { status: 207 });
    } catch (err) {
      return errorResponse(err);
    }
  };
}
