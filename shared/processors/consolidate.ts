/**
 * Consolidating facts (SPEC §3.8, lesson 11): dedupe by normalised text, names and events;
 * when the set is over budget, a bounded hierarchical reduce (done by the caller with a model)
 * and, past the depth limit, a deterministic fallback that keeps the most recent and most
 * frequent facts. Odd items are skipped, never a crash.
 */
import type { FactSet } from "./schemas.ts";
import { normText } from "./text.ts";

export interface DatedFact<T> {
  item: T;
  date: string | null;
  count: number;
}

type Cat = keyof FactSet;
const KEY: { [K in Cat]: (x: FactSet[K][number]) => string } = {
  preferences: (x) => normText(x),
  beliefs: (x) => normText(x),
  projects: (x) => normText((x as { name?: string }).name),
  dates: (x) => normText((x as { event?: string }).event) + "|" + normText((x as { date?: string }).date),
  decisions: (x) => normText((x as { decision?: string }).decision),
};

/** Facts from many chunks (with their conversation dates) -> one deduplicated set, newest first. */
export function dedupe(
  sets: { facts: FactSet; date: string | null }[],
): { facts: FactSet; counts: Record<string, number> } {
  const acc = new Map<string, DatedFact<unknown> & { cat: Cat }>();
  for (const { facts, date } of sets) {
    for (const cat of Object.keys(KEY) as Cat[]) {
      const items = Array.isArray(facts?.[cat]) ? facts[cat] as unknown[] : [];
      for (const item of items) {
        if (item === null || item === undefined || (typeof item !== "string" && typeof item !== "object")) continue;
        const k = `${cat}:${(KEY[cat] as (x: unknown) => string)(item)}`;
        if (k.endsWith(":") || k.endsWith(":|")) continue;
        const prev = acc.get(k);
        if (!prev) acc.set(k, { cat, item, date, count: 1 });
        else {
          prev.count++;
          if ((date ?? "") > (prev.date ?? "")) (prev.item = item, prev.date = date); // newer wording wins
        }
      }
    }
  }
  const out: FactSet = { preferences: [], projects: [], dates: [], beliefs: [], decisions: [] };
  const counts: Record<string, number> = {};
  const sorted = [...acc.values()].sort((a, b) => (b.date ?? "").localeCompare(a.date ?? "") || b.count - a.count);
  for (const f of sorted) {
    (out[f.cat] as unknown[]).push(f.item);
    counts[f.cat] = (counts[f.cat] ?? 0) + 1;
  }
  return { facts: out, counts };
}

/** Size of a fact set in tokens (pretty JSON / 4). */
export function factTokens(f: FactSet): number {
  return Math.ceil(JSON.stringify(f, null, 2).length / 4);
}

/**
 * Deterministic fallback: keeps the first items of each category (the set is already ordered
 * newest and most frequent first), taken in turns across categories, as many as the budget
 * holds: the longest such prefix, found by bisection (its size grows with its length). Adding
 * one item at a time and measuring the whole set each time was quadratic: 4,000 facts of a 1 GB
 * history took past the 2 s CPU limit.
 */
export function truncateFacts(f: FactSet, budgetTokens: number): FactSet {
  const cats = Object.keys(empty()) as Cat[];
  const order: [Cat, unknown][] = [];
  const longest = Math.max(...cats.map((c) => (f[c] as unknown[]).length));
  for (let i = 0; i < longest; i++) {
    for (const c of cats) {
      const item = (f[c] as unknown[])[i];
      if (item !== undefined) order.push([c, item]);
    }
  }
  const prefix = (n: number): FactSet => {
    const out = empty();
    for (const [c, item] of order.slice(0, n)) (out[c] as unknown[]).push(item);
    return out;
  };
  let lo = 0, hi = order.length; // the longest prefix that fits has lo <= n <= hi items
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (factTokens(prefix(mid)) <= budgetTokens) lo = mid;
    else hi = mid - 1;
  }
  return prefix(lo);
}

const empty = (): FactSet => ({ preferences: [], projects: [], dates: [], beliefs: [], decisions: [] });
