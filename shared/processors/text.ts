/**
 * Small text helpers shared by processors, adapters, tests and benchmarks, so that two parts of
 * the system that compare text agree on what "the same text" means.
 */

/**
 * Text reduced to its comparable form: lower case, NFKC, every run of characters that are not
 * letters or digits (any script) replaced by one space, trimmed. Non-strings give "".
 * Used as a dedupe key and for word-boundary matching (`` ` ${normText(a)} `.includes(` ${b} `) ``).
 */
export function normText(s: unknown): string {
  return typeof s === "string" ? s.toLowerCase().normalize("NFKC").replace(/[^\p{L}\p{N}]+/gu, " ").trim() : "";
}

/**
 * 32-bit FNV-1a hash of the string's UTF-16 code units (unsigned). Fast, deterministic and
 * well spread; not for anything that needs resistance to chosen inputs.
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
