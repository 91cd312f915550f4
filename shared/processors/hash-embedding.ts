/**
 * Offline embeddings: feature hashing of word unigrams, word bigrams and character trigrams into
 * `dimension` buckets with signed hashes, L2-normalised. Deterministic, no network, same
 * dimension as the real model, so the schema and search do not care which one made a vector.
 */

/** Words that make no `w:` feature of their own (they still form bigrams and trigrams). */
export const STOP = new Set([
  "the",
  "a",
  "an",
  "and",
  "or",
  "of",
  "to",
  "in",
  "is",
  "it",
  "i",
  "you",
  "that",
  "this",
  "for",
  "on",
  "with",
  "be",
  "are",
  "was",
  "my",
  "me",
  "at",
  "as",
  "so",
  "do",
  "can",
  "what",
  "how",
]);

/** Lowercased word tokens (letters and digits, any script). */
export function words(text: string): string[] {
  return text.toLowerCase().normalize("NFKC").match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** FNV-1a over code units, continued from state `h` (see text.ts fnv1a: same hash, no string built). */
const FNV_PRIME = 0x01000193;
function fnvFrom(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}
const SPACE = 32;
const [W, B, C] = ["w:", "b:", "c:"].map((p) => fnvFrom(0x811c9dc5, p)) as [number, number, number];

/**
 * A unit vector of `dimension` floats for `text`. Features: `w:<word>` (not a stop word, weight 1),
 * `b:<word> <next>` (0.5) and `c:<trigram>` of ` <word> ` (0.25), each hashed with FNV-1a into a
 * signed bucket. The hashes are computed from the prefixes' states without building the feature
 * strings (this runs over every chunk of an import); the result is the same as hashing them.
 * @default dimension 768
 */
export function hashEmbedding(text: string, dimension = 768): number[] {
  const v = new Float64Array(dimension);
  const add = (h: number, weight: number) => {
    const u = h >>> 0;
    v[u % dimension]! += (u & 0x80000000 ? -1 : 1) * weight;
  };
  const ws = words(text);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (!STOP.has(w)) add(fnvFrom(W, w), 1);
    if (i + 1 < ws.length) add(fnvFrom(Math.imul(fnvFrom(B, w) ^ SPACE, FNV_PRIME), ws[i + 1]!), 0.5);
    // Trigrams of ` ${w} `: position k is a space at both ends, else w's code unit k - 1.
    const n = w.length + 2;
    const at = (k: number) => (k === 0 || k === n - 1 ? SPACE : w.charCodeAt(k - 1));
    for (let j = 0; j + 3 <= n; j++) {
      let h = Math.imul(C ^ at(j), FNV_PRIME);
      h = Math.imul(h ^ at(j + 1), FNV_PRIME);
      add(Math.imul(h ^ at(j + 2), FNV_PRIME), 0.25);
    }
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => x / norm);
}
