/**
 * Scores a finished SoulPrint against the ground truth by normalised key terms (no model):
 *   recall     share of true facts whose terms all appear in sections + MEMORY + stored facts
 *   precision  share of traps that did not become a fact about the user
 *   recency    share of changed facts whose profile field shows the latest value, not the stale one
 *   duplicates MEMORY bullets beyond the first that state the same true fact
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
  precision: number;
  recency: number;
  duplicates: number;
  missed: string[];
  trapped: string[];
}

const norm = (s: string) => ` ${s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()} `;
const has = (hay: string, term: string) => hay.includes(` ${term} `);

export function scoreSoulprint(truth: GroundTruth, sp: SoulPrintView): FidelityScore {
  const userText = norm(
    [JSON.stringify(sp.sections?.user ?? {}), sp.memoryMd ?? "", JSON.stringify(sp.facts)].join(" "),
  );
  const allText = norm([JSON.stringify(sp.sections ?? {}), sp.memoryMd ?? "", JSON.stringify(sp.facts)].join(" "));
  const missed = truth.facts.filter((f) => !f.terms.every((t) => has(allText, t))).map((f) => f.id);
  const trapped = truth.traps.filter((t) => t.forbidden.some((w) => has(userText, w))).map((t) => t.id);
  const changing = truth.facts.filter((f) => f.current);
  const fresh = changing.filter((f) => {
    const field = norm(String(sp.sections?.user?.[f.current!.field] ?? ""));
    return f.terms.every((t) => has(field, t)) && !f.current!.stale.some((s) => has(field, s));
  });
  const bullets = (sp.memoryMd ?? "").split("\n").filter((l) => l.trim().startsWith("- ")).map(norm);
  const duplicates = truth.facts.reduce(
    (a, f) => a + Math.max(0, bullets.filter((b) => f.terms.every((t) => has(b, t))).length - 1),
    0,
  );
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    facts: truth.facts.length,
    recall: round(1 - missed.length / truth.facts.length),
    precision: round(1 - trapped.length / truth.traps.length),
    recency: changing.length ? round(fresh.length / changing.length) : 1,
    duplicates,
    missed,
    trapped,
  };
}
