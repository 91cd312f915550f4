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
/** The longest stop word: a longer word needs no set lookup. */
const STOP_MAX_LENGTH = Math.max(...[...STOP].map((w) => w.length));

/**
 * Adds `weight` to bucket (h as unsigned) mod length, signed by h's top bit. The remainder is taken
 * in two 16-bit halves so every operand stays a small integer: an unsigned 32-bit value past 2^31
 * is a double to the engine, and a double remainder cost more than the hashing (lengths < 32,768).
 */
function addTo(v: Float64Array, h: number, weight: number): void {
  const d = v.length;
  v[((((h >>> 16) % d) << 16) + (h & 0xffff)) % d]! += h < 0 ? -weight : weight;
}
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
  const ws = words(text);
  // One pass over each word's code units carries every hash that reads them: its `w:` feature,
  // its own `b:` prefix (for the bigram it starts), the bigram the previous word started, and its
  // trigrams. Sums of ±1, ±0.5 and ±0.25 are exact in doubles, so the order of adds is free.
  let bigram = 0; // the state of `b:<previous word> `
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    let hw = W, hb = B, hbg = bigram;
    let a = SPACE, b = -1; // the trigram window over ` <word> `: the two code units before
    for (let k = 0; k < w.length; k++) {
      const c = w.charCodeAt(k);
      hw = Math.imul(hw ^ c, FNV_PRIME);
      hb = Math.imul(hb ^ c, FNV_PRIME);
      hbg = Math.imul(hbg ^ c, FNV_PRIME);
      if (b >= 0) {
        addTo(v, Math.imul(Math.imul(Math.imul(C ^ a, FNV_PRIME) ^ b, FNV_PRIME) ^ c, FNV_PRIME), 0.25);
        a = b;
      }
      b = c;
    }
    addTo(v, Math.imul(Math.imul(Math.imul(C ^ a, FNV_PRIME) ^ b, FNV_PRIME) ^ SPACE, FNV_PRIME), 0.25);
    if (w.length > STOP_MAX_LENGTH || !STOP.has(w)) addTo(v, hw, 1);
    if (i > 0) addTo(v, hbg, 0.5);
    bigram = Math.imul(hb ^ SPACE, FNV_PRIME);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => x / norm);
}
