/**
 * The offline provider: no network, no key, deterministic. It answers the same requests as the
 * real providers with the extractive analyser (shared/processors/offline-analyser.ts), filling
 * the same schemas; its model name marks everything it makes as offline analysis.
 */
import { parseExtractionInput } from "../../processors/extraction-input.ts";
import { FactsSchema } from "../../processors/schemas.ts";
import { estimateTokens } from "../../processors/pricing.ts";
import { words } from "../../processors/hash-embedding.ts";
import type { LlmProvider, LlmRequest, LlmResult, StreamingLlmProvider } from "./types.ts";

export const OFFLINE_MODEL = "offline-extractive-1";
const NAMES = [
  "Nova",
  "Atlas",
  "Sage",
  "Pixel",
  "Echo",
  "Dash",
  "Orion",
  "Juniper",
  "Wren",
  "Lumen",
  "Kestrel",
  "Marlow",
];

/** The text between <tag> and </tag> in the latest user message that has it (the fenced data). */
function fenced(req: LlmRequest, tag: string): string {
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`);
  for (const m of [...req.messages].reverse()) {
    const hit = m.role === "user" ? m.content.match(re) : null;
    if (hit) return hit[1]!;
  }
  return "";
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * The analyser and the sections writer load with the first request that needs each: the sections
 * writer brings an NLP library whose start-up (~0.3-0.8 s of CPU, ~50 MB) no other request needs,
 * and a function that never asks for facts or sections (chunk, embed, chat) loads neither each
 * time the platform starts a worker for it.
 */
let analyser: Promise<typeof import("../../processors/offline-analyser.ts")> | undefined;
let sectionsWriter: Promise<typeof import("../../processors/analysis/sections.ts")> | undefined;
const loadAnalyser = () => analyser ??= import("../../processors/offline-analyser.ts");
const loadSections = () => sectionsWriter ??= import("../../processors/analysis/sections.ts");

/** The person's messages of an extraction request (`<user>` blocks; `<context>` is not theirs). */
function extractionMessages(data: string) {
  return parseExtractionInput(data).flatMap((c) =>
    c.messages.filter((m) => m.role === "user").map((m) => ({
      text: m.text,
      date: c.date,
      conversationId: c.conversationId,
    }))
  );
}

function chatReply(req: LlmRequest): string {
  // The person's turn: fenced <retrieved_chunk> data, then their <message> (chat-prompt.ts).
  const turn = req.messages.at(-1)?.content ?? "";
  const question = fenced(req, "message") || turn;
  const context = [...turn.matchAll(/<retrieved_chunk[^>]*>([\s\S]*?)<\/retrieved_chunk>/g)].map((m) => m[1]).join(
    "\n",
  );
  const q = new Set(words(question).filter((w) => w.length > 3));
  const lines = context.split("\n").filter((l) => l.startsWith("User:") && words(l).some((w) => q.has(w))).slice(0, 3);
  return lines.length
    ? `From what you told me before: ${lines.map((l) => l.replace(/^User:\s*/, "")).join(" ")} (offline answer)`
    : "I don't have anything about that in what you've shared with me yet. (offline answer)";
}

/** The reply to `req`, by its purpose (prompts.ts); a request with none is a chat turn. */
async function answer(req: LlmRequest): Promise<string> {
  switch (req.purpose) {
    case "sections": {
      // Sections from the sampled conversations (and MEMORY, when a later pass sends it).
      const [{ userMessages }, { offlineSections }] = await Promise.all([loadAnalyser(), loadSections()]);
      const data = fenced(req, "conversations");
      return JSON.stringify(
        offlineSections(userMessages(data), fenced(req, "memory"), NAMES[hash(data) % NAMES.length]!),
      );
    }
    case "facts": {
      const { extractFacts } = await loadAnalyser();
      return JSON.stringify(extractFacts(extractionMessages(fenced(req, "conversations"))));
    }
    case "reduce":
      return JSON.stringify(FactsSchema.parse(JSON.parse(fenced(req, "facts") || "{}")));
    case "memory": {
      const { memoryMarkdown } = await loadAnalyser();
      return memoryMarkdown(FactsSchema.parse(JSON.parse(fenced(req, "facts") || "{}")));
    }
    default:
      return chatReply(req);
  }
}

export class OfflineProvider implements LlmProvider, StreamingLlmProvider {
  readonly name = "offline";
  readonly model = OFFLINE_MODEL;

  async complete(req: LlmRequest): Promise<LlmResult> {
    const t0 = performance.now();
    const text = await answer(req);
    const input = estimateTokens(req.system.length + req.messages.reduce((a, m) => a + m.content.length, 0));
    return {
      text,
      usage: { input_tokens: input, output_tokens: estimateTokens(text.length) },
      model: this.model,
      provider: this.name,
      latencyMs: Math.round(performance.now() - t0),
      costUsd: 0,
      calls: 1,
    };
  }

  async *stream(req: LlmRequest): AsyncIterable<string> {
    const { text } = await this.complete(req);
    for (const piece of text.match(/\S+\s*/g) ?? []) yield piece;
  }
}
