/**
 * The bounded hierarchical reduce of consolidate (SPEC §3.8). While the deduplicated facts are
 * over budget, each category is sent in batches to a reducer (the model, passed in by the
 * caller), the answers are merged and deduplicated again: at most `maxDepth` rounds, and no
 * further round once `maxFailures` batches have failed (circuit breaker). What is still over
 * budget then goes through the deterministic fallback (`truncateFacts`).
 *
 * Degrade path, explicit and coded: a batch whose answer could not be used (one of
 * DEGRADABLE_CODES: the model replied, but not with valid facts even after the repair round
 * trip) is kept as it was and recorded in `degraded` with its code. Any other failure (provider
 * down or rate limited, a timeout, the database, a bug) is rethrown: the task fails and the
 * orchestrator retries it, rather than completing with facts nobody reduced.
 */
import { dedupe, factTokens, truncateFacts } from "./consolidate.ts";
import { type ErrorCode, PipelineError } from "./errors.ts";
import type { FactSet } from "./schemas.ts";

type Cat = keyof FactSet;
const CATEGORIES: readonly Cat[] = ["preferences", "projects", "dates", "beliefs", "decisions"];

/** Failures that mean "this batch's answer is unusable", so the batch is kept unreduced. */
export const DEGRADABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["LLM_OUTPUT_INVALID"]);

/** Reduces one batch (only `category` is non-empty); returns the merged facts of that category. */
export type ReduceBatch = (batch: FactSet, category: Cat) => Promise<FactSet>;

export interface ReduceOptions {
  /** Size the result must fit, in tokens (pretty JSON / 4, see factTokens). */
  budgetTokens: number;
  /** Items of one category per reducer call. @default 400 */
  batchItems?: number;
  /** Most reduce rounds. @default 3 */
  maxDepth?: number;
  /** Failed batches after which no further round starts. @default 5 */
  maxFailures?: number;
}

/** A batch kept as it was because its answer could not be used. */
export interface DegradedBatch {
  category: Cat;
  /** Items in the batch (kept unreduced). */
  items: number;
  code: ErrorCode;
}

export interface ReduceOutcome {
  facts: FactSet;
  /** Reduce rounds run. */
  depth: number;
  /** Reducer calls made (successful or degraded). */
  batches: number;
  degraded: DegradedBatch[];
  /** Whether the deterministic fallback had to cut the set to the budget. */
  fallback: boolean;
}

const empty = (): FactSet => ({ preferences: [], projects: [], dates: [], beliefs: [], decisions: [] });

/** Number of facts in a set, all categories. */
export function countFacts(f: FactSet): number {
  return CATEGORIES.reduce((a, c) => a + (f[c] as unknown[]).length, 0);
}

/**
 * Brings deduplicated `facts` within `opts.budgetTokens` (see the module comment).
 * @throws whatever `reduce` throws, unless its code is in DEGRADABLE_CODES.
 */
export async function reduceFacts(facts: FactSet, reduce: ReduceBatch, opts: ReduceOptions): Promise<ReduceOutcome> {
  const batchItems = opts.batchItems ?? 400;
  const maxDepth = opts.maxDepth ?? 3;
  const maxFailures = opts.maxFailures ?? 5;
  const degraded: DegradedBatch[] = [];
  let depth = 0, batches = 0;
  while (factTokens(facts) > opts.budgetTokens && depth < maxDepth && degraded.length < maxFailures) {
    depth++;
    const merged = empty();
    for (const cat of CATEGORIES) {
      const items = facts[cat] as unknown[];
      for (let i = 0; i < items.length; i += batchItems) {
        const batch = { ...empty(), [cat]: items.slice(i, i + batchItems) } as FactSet;
        batches++;
        try {
          const answer = await reduce(batch, cat);
          (merged[cat] as unknown[]).push(...(answer[cat] as unknown[]));
        } catch (err) {
          if (!(err instanceof PipelineError) || !DEGRADABLE_CODES.has(err.code)) throw err;
          degraded.push({ category: cat, items: (batch[cat] as unknown[]).length, code: err.code });
          (merged[cat] as unknown[]).push(...(batch[cat] as unknown[]));
        }
      }
    }
    facts = dedupe([{ facts: merged, date: null }]).facts;
  }
  const fallback = factTokens(facts) > opts.budgetTokens;
  return { facts: fallback ? truncateFacts(facts, opts.budgetTokens) : facts, depth, batches, degraded, fallback };
}
