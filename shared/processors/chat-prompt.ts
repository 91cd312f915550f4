/**
 * The companion's system prompt (SPEC §7, v1-technical order): name, minimal preamble, date,
 * the five sections (cleaned, keys sorted), MEMORY, retrieved CONTEXT, uncertainty,
 * relationship tone, adaptive tone. Deterministic for the same input (time is passed in).
 */
import { cleanSection } from "./render.ts";
import type { Sections } from "./schemas.ts";

export interface RetrievedChunk {
  title: string;
  content: string;
  created_at: string;
  score: number;
}

export interface ChatPromptInput {
  aiName: string;
  sections: Sections | null;
  memoryMd: string | null;
  soulprintText: string | null;
  chunks: RetrievedChunk[];
  now: Date;
  /** Messages exchanged so far (sets the relationship stage). */
  messageCount: number;
  emotion?: { primary: string; confidence: number };
}

const STOP = new Set([
  "the",
  "and",
  "for",
  "are",
  "but",
  "not",
  "you",
  "your",
  "with",
  "what",
  "when",
  "where",
  "who",
  "how",
  "why",
  "was",
  "were",
  "did",
  "does",
  "have",
  "has",
  "had",
  "this",
  "that",
  "these",
  "those",
  "from",
  "about",
  "into",
  "can",
  "could",
  "would",
  "should",
  "will",
  "just",
  "me",
  "my",
  "mine",
  "our",
  "its",
  "it's",
  "i'm",
  "again",
  "tell",
  "remember",
  "know",
  "any",
  "all",
  "there",
  "their",
  "them",
  "they",
  "then",
  "than",
  "which",
  "also",
  "very",
  "some",
]);

/** A to_tsquery('simple') OR-expression of up to 5 keywords (lowercase, no stop words, > 2 chars). */
export function keywordQuery(message: string): string {
  const words = (message.toLowerCase().normalize("NFKC").match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((w) => w.length > 2 && !STOP.has(w));
  return [...new Set(words)].slice(0, 5).join(" | ");
}

const label = (k: string) => k.split("_").map((w) => w ? w[0]!.toUpperCase() + w.slice(1) : w).join(" ");

function sectionBlock(title: string, s: unknown): string | null {
  const c = cleanSection(s);
  if (!c) return null;
  const lines = Object.keys(c).sort().map((k) => {
    const v = c[k];
    return Array.isArray(v)
      ? `**${label(k)}:**\n${v.map((x) => `- ${typeof x === "string" ? x : JSON.stringify(x)}`).join("\n")}`
      : `**${label(k)}:** ${typeof v === "string" ? v : JSON.stringify(v)}`;
  });
  return `## ${title}\n${lines.join("\n")}`;
}

export function relationshipStage(n: number): "early" | "developing" | "established" {
  return n < 10 ? "early" : n < 50 ? "developing" : "established";
}

export function buildSystemPrompt(i: ChatPromptInput): string {
  const parts: string[] = [`# ${i.aiName}`];
  parts.push(
    "Use what you remember about the person naturally, without announcing it or offering to look things up. " +
      "Be direct and opinionated, and say so when you do not know. Never open with a greeting. Cite the memory you rely on " +
      "in plain words; never write placeholders like [date] or [topic].",
  );
  const date = i.now.toLocaleString("en-US", {
    weekday: "long",
    month: "long",
    day: "2-digit",
    year: "numeric",
    timeZone: "UTC",
  });
  const time = i.now.toLocaleString("en-US", { hour: "numeric", minute: "2-digit", hour12: true, timeZone: "UTC" });
  parts.push(`Today is ${date}, ${time} UTC`);
  const blocks = i.sections
    ? ([["SOUL", i.sections.soul], ["IDENTITY", i.sections.identity], ["USER", i.sections.user], [
      "AGENTS",
      i.sections.agents,
    ], ["TOOLS", i.sections.tools]] as const).map(([t, s]) => sectionBlock(t, s)).filter((b): b is string => !!b)
    : [];
  if (blocks.length) parts.push(...blocks);
  else if (i.soulprintText) parts.push(`## ABOUT THIS PERSON\n${i.soulprintText}`);
  if (i.memoryMd) parts.push(`## MEMORY\n${i.memoryMd}`);
  if (i.chunks.length) {
    parts.push(
      `## CONTEXT\n${
        i.chunks.map((c) =>
          `### ${c.title} (${c.created_at.slice(0, 10)}, relevance ${c.score.toFixed(3)})\n${c.content.slice(0, 2000)}`
        ).join("\n\n")
      }`,
    );
  }
  parts.push(
    "UNCERTAINTY ACKNOWLEDGMENT\nIf the memory and context above do not answer something, say you do not know or do " +
      "not remember; do not invent details about the person's life.",
  );
  const stage = relationshipStage(i.messageCount);
  parts.push(
    `RELATIONSHIP TONE (${stage}: ${i.messageCount} messages)\n` + {
      early: "You are still getting to know each other: warm, a little reserved, curious.",
      developing: "You know each other somewhat: relaxed and personal, refer back to shared context.",
      established: "You know each other well: candid, familiar, comfortable with shorthand.",
    }[stage],
  );
  if (i.emotion && i.emotion.confidence >= 0.6 && ["frustrated", "satisfied", "confused"].includes(i.emotion.primary)) {
    parts.push(`ADAPTIVE TONE\n${
      {
        frustrated: "The person seems frustrated: be brief, concrete and calm; fix the problem first.",
        satisfied: "The person seems pleased: match the energy, keep momentum.",
        confused: "The person seems confused: slow down, one step at a time, check understanding.",
      }[i.emotion.primary as "frustrated" | "satisfied" | "confused"]
    }`);
  }
  return parts.join("\n\n");
}
