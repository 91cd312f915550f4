/**
 * Fact extraction input and provenance. A batch of chunks becomes one short list of candidate
 * sentences (see candidateStatements); the model's facts are attributed back to the chunk whose
 * sentences share the most words with each fact, whatever the provider.
 */
import { candidateStatements } from "./offline-analyser.ts";
import type { FactSet } from "./schemas.ts";

export interface BatchChunk {
  id: string;
  content: string;
}

export interface Candidates {
  /** Rendered for the prompt: one `User:` line per candidate sentence. */
  text: string;
  /** The candidate sentences of each chunk, by chunk id. */
  byChunk: Map<string, string[]>;
}

/**
 * Candidate sentences of a batch of chunks, each distinct sentence once (people repeat
 * themselves; the model need not read it twice), at most `maxChars` in all.
 * @default maxChars 24000 (≈ 6000 tokens)
 */
export function batchCandidates(chunks: BatchChunk[], maxChars = 24_000): Candidates {
  const byChunk = new Map<string, string[]>();
  const seen = new Set<string>();
  let total = 0;
  for (const c of chunks) {
    const cs = candidateStatements(c.content).filter((s) => {
      const k = s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
      if (seen.has(k) || total + s.length > maxChars) return false;
      seen.add(k);
      total += s.length + 7;
      return true;
    });
    if (cs.length) byChunk.set(c.id, cs);
  }
  const text = [...byChunk.values()].flat().map((s) => `User: ${s}`).join("\n");
  return { text, byChunk };
}

const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []);

/** Splits one fact set into per-chunk fact sets by word overlap (ties: the first chunk). */
export function attributeFacts(facts: FactSet, byChunk: Map<string, string[]>): Map<string, FactSet> {
  const chunkWords = [...byChunk].map(([id, ss]) => ({ id, w: words(ss.join(" ")) }));
  const out = new Map<string, FactSet>();
  if (!chunkWords.length) return out;
  for (const cat of Object.keys(facts) as (keyof FactSet)[]) {
    for (const f of facts[cat] as unknown[]) {
      const fw = words(typeof f === "string" ? f : JSON.stringify(f));
      let best = chunkWords[0]!, bestScore = -1;
      for (const c of chunkWords) {
        let n = 0;
        for (const w of fw) if (c.w.has(w)) n++;
        if (n > bestScore) (best = c, bestScore = n);
      }
      const set = out.get(best.id) ?? { preferences: [], projects: [], dates: [], beliefs: [], decisions: [] };
      (set[cat] as unknown[]).push(f);
      out.set(best.id, set);
    }
  }
  return out;
}
