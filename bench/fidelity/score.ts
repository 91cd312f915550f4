/**
 * Scores a finished SoulPrint against the ground truth by normalised key terms (no model):
 *   recall       share of planted facts whose terms all appear in sections + MEMORY + stored facts
 *   precision    of the claims made about the person (every MEMORY bullet, every USER value),
 *                the share that matches a planted or background truth; undefined when there are
 *                no claims (an empty SoulPrint has no precision, and fails)
 *   unsupported  the claims that match nothing true (false facts count here)
 *   trapped      traps that became a fact about the person (a stale value as the current one)
 *   recency      share of changed facts whose profile field shows the latest value
 *   duplicates   MEMORY bullets beyond the first that state the same planted fact
 */
import type { GroundTruth } from "./generator.ts";

export interface SoulPrintView {
  sections: Record<string, Record<string, unknown>> | null;
  memoryMd: string | null;
  facts: unknown[];
}

export interface FidelityScore {
  facts: number;
  recall: number;
  precision: number | undefined;
  claims: number;
  unsupported: string[];
  recency: number;
  duplicates: number;
  missed: string[];
  trapped: string[];
}

const norm = (s: string) => ` ${s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()} `;
const has = (hay: string, term: string) => hay.includes(` ${term} `);
const EMPTY = /^\s*(not enough data|no data yet\.?|unknown)?\s*$/i;

/** Every claim about the person: MEMORY bullets and the USER section's values, one per list item. */
export function claims(sp: SoulPrintView): string[] {
  const out = (sp.memoryMd ?? "").split("\n").filter((l) => l.trim().startsWith("- ")).map((l) => l.trim().slice(2));
  for (const v of Object.values(sp.sections?.user ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) if (typeof x === "string" && !EMPTY.test(x)) out.push(x);
  }
  return out;
}

export function scoreSoulprint(truth: GroundTruth, sp: SoulPrintView): FidelityScore {
  const userText = norm(
    [JSON.stringify(sp.sections?.user ?? {}), sp.memoryMd ?? "", JSON.stringify(sp.facts)].join(" "),
  );
  const allText = norm([JSON.stringify(sp.sections ?? {}), sp.memoryMd ?? "", JSON.stringify(sp.facts)].join(" "));
  const missed = truth.facts.filter((f) => !f.terms.every((t) => has(allText, t))).map((f) => f.id);
  const trapped = truth.traps.filter((t) => {
    if (t.kind === "stale") {
      const field = norm(String(sp.sections?.user?.[t.field!] ?? ""));
      return t.forbidden.some((w) => has(field, w));
    }
    return t.forbidden.some((w) => has(userText, w));
  }).map((t) => t.id);
  const changing = truth.facts.filter((f) => f.current);
  const fresh = changing.filter((f) => {
    const field = norm(String(sp.sections?.user?.[f.current!.field] ?? ""));
    return f.terms.every((t) => has(field, t)) && !f.current!.stale.some((s) => has(field, s));
  });
  const cs = claims(sp);
  const trapTerms = truth.traps.filter((t) => t.kind !== "stale").flatMap((t) => t.forbidden);
  const supported = (c: string) => {
    const n = norm(c);
    if (trapTerms.some((w) => has(n, w))) return false;
    return [...truth.facts.map((f) => f.terms), ...truth.background].some((terms) => terms.every((t) => has(n, t)));
  };
  const unsupported = cs.filter((c) => !supported(c));
  const bullets = (sp.memoryMd ?? "").split("\n").filter((l) => l.trim().startsWith("- ")).map(norm);
  const duplicates = truth.facts.reduce(
    (a, f) => a + Math.max(0, bullets.filter((b) => f.terms.every((t) => has(b, t))).length - 1),
    0,
  );
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    facts: truth.facts.length,
    recall: round(1 - missed.length / truth.facts.length),
    precision: cs.length ? round(1 - unsupported.length / cs.length) : undefined,
    claims: cs.length,
    unsupported,
    recency: changing.length ? round(fresh.length / changing.length) : 1,
    duplicates,
    missed,
    trapped,
  };
}
