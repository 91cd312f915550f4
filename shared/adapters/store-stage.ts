/**
 * Stages that work only through the pipeline store (shared/adapters/store): their prepare and
 * process see the store, never a connection, so the same work runs on the Postgres store in the
 * functions and on an in-memory one in fast tests.
 */
import {
  createStageHandler,
  extendLease,
  type OnePhaseWork,
  type StageOptions,
  type TwoPhaseWork,
} from "./stage-handler.ts";
import type { OpenStore, PipelineStore } from "./store/mod.ts";

/** What a store stage's prepare gets: the store (outside any transaction) and the task's lease. */
export interface PrepareContext {
  store: PipelineStore;
  /** Keeps the task's lease before a step that may outlast it. @throws PipelineError LEASE_LOST */
  keepLease(): Promise<void>;
}

export type TwoPhaseStoreStage<P> = StageOptions & TwoPhaseWork<P, PrepareContext, PipelineStore>;
export type OnePhaseStoreStage = StageOptions & OnePhaseWork<PipelineStore>;
export type StoreStage<P = void> = TwoPhaseStoreStage<P> | OnePhaseStoreStage;

/** The stage handler of a store stage, on the store `open` binds to the pool and to each task's transaction. */
export function createStoreStageHandler<P>(def: StoreStage<P>, open: OpenStore) {
  if (def.prepare === undefined) {
    const one = def;
    return createStageHandler({ ...one, process: (task, tx) => one.process(task, open(tx)) });
  }
  const two = def;
  return createStageHandler<P>({
    ...two,
    prepare: (task, db) => two.prepare(task, { store: open(db), keepLease: () => extendLease(db, task) }),
    process: (task, tx, prepared) => two.process(task, open(tx), prepared),
  });
}
