/**
 * Offline embeddings: feature hashing of word unigrams, word bigrams and character trigrams into
 * `dimension` buckets with signed hashes, L2-normalised. Deterministic, no network, same
 * dimension as the real model, so the schema and search do not care which one made a vector.
 */
import { fnv1a } from "./text.ts";

const STOP = new Set([
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

/** A unit vector of `dimension` floats for `text`. @default dimension 768 */
export function hashEmbedding(text: string, dimension = 768): number[] {
  const v = new Float64Array(dimension);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    v[h % dimension]! += (h & 0x80000000 ? -1 : 1) * weight;
  };
  const ws = words(text);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (!STOP.has(w)) add(`w:${w}`, 1);
    if (i + 1 < ws.length) add(`b:${w} ${ws[i + 1]}`, 0.5);
    const padded = ` ${w} `;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.25);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => x / norm);
}
