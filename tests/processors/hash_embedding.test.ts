// The offline embedder computes its feature hashes without building the feature strings; the
// vectors must stay exactly those of hashing the strings, or stored vectors and new queries
// would disagree.
import assert from "node:assert/strict";
import { hashEmbedding, STOP, words } from "../../shared/processors/hash-embedding.ts";
import { fnv1a } from "../../shared/processors/text.ts";

/** The definition, spelled out: every feature string built and hashed with fnv1a. */
function reference(text: string, stop: (w: string) => boolean, dimension = 768): number[] {
  const v = new Float64Array(dimension);
  const add = (f: string, weight: number) => {
    const h = fnv1a(f);
    v[h % dimension]! += (h & 0x80000000 ? -1 : 1) * weight;
  };
  const ws = words(text);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (!stop(w)) add(`w:${w}`, 1);
    if (i + 1 < ws.length) add(`b:${w} ${ws[i + 1]}`, 0.5);
    const p = ` ${w} `;
    for (let j = 0; j + 3 <= p.length; j++) add(`c:${p.slice(j, j + 3)}`, 0.25);
  }
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return Array.from(v, (x) => x / n);
}

Deno.test("hash embedding: the same vectors as hashing every feature string", () => {
  const texts = [
    "",
    "x",
    "Kyoto in April, then Osaka — 東京 naïve café 12 3",
    "User: I want to talk about a job interview. Assistant: Sure, tell me more.",
    "supercalifragilistic ".repeat(50),
    "emoji 🎉 and surrogate pairs 𝒳𝒴 count as code units",
  ];
  for (const t of [...texts, "the garden and my tomatoes"]) {
    assert.deepEqual(hashEmbedding(t), reference(t, (w) => STOP.has(w)), t.slice(0, 30));
  }
  // Stop words make no word feature of their own, and other words do.
  assert.notDeepEqual(hashEmbedding("the garden"), reference("the garden", () => false));
  assert.equal(hashEmbedding("garden").length, 768);
});

Deno.test("hash embedding: the same vectors on mixed scripts and odd code units", () => {
  // Text the word pattern and the hashes must agree on: ASCII, Latin with marks (composed
  // by NFKC or left combining), other scripts' letters and digits, astral letters, emoji, lone
  // surrogates, punctuation, and upper case that lowercases outside ASCII (Kelvin sign).
  const pool = [..."aZ09 .,'-_\n\t\u00e9e\u0301\u00df\u0130\u212a\u0661\u0663\u4e1c\u4eac\u3042\u0416"]
    .concat(["\ud835\udcb3", "\ud83c\udf89", "\ud800", "\udc00", "\u200d", "\u00a0", "\u2163"]);
  let seed = 7;
  const next = () => (seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5 | 0) >>> 0;
  for (let n = 0; n < 400; n++) {
    let t = "";
    for (let k = next() % 40; k > 0; k--) t += pool[next() % pool.length];
    assert.deepEqual(hashEmbedding(t), reference(t, (w) => STOP.has(w)), JSON.stringify(t));
  }
});
