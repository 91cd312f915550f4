/**
 * The offline provider: no network, no key, deterministic. It answers the same requests as the
 * real providers with the extractive analyser (shared/processors/offline-analyser.ts), filling
 * the same schemas; its model name marks everything it makes as offline analysis.
 */
import { extractFacts, memoryMarkdown, userMessages } from "../../processors/offline-analyser.ts";
import { offlineSections } from "../../processors/analysis/sections.ts";
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

/** Sections from the sampled conversations (and MEMORY, when a later pass sends it). */
function sections(data: string, memoryMd: string) {
  return offlineSections(userMessages(data), memoryMd, NAMES[hash(data) % NAMES.length]!);
}

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

export class OfflineProvider implements LlmProvider, StreamingLlmProvider {
  readonly name = "offline";
  readonly model = OFFLINE_MODEL;

  complete(req: LlmRequest): Promise<LlmResult> {
    const t0 = performance.now();
    let text: string;
    switch (req.purpose) {
      case "sections":
        text = JSON.stringify(sections(fenced(req, "conversations"), fenced(req, "memory")));
        break;
      case "facts":
        text = JSON.stringify(extractFacts(extractionMessages(fenced(req, "conversations"))));
        break;
      case "reduce":
        text = JSON.stringify(FactsSchema.parse(JSON.parse(fenced(req, "facts") || "{}")));
        break;
      case "memory":
        text = memoryMarkdown(FactsSchema.parse(JSON.parse(fenced(req, "facts") || "{}")));
        break;
      default:
        text = chatReply(req);
    }
    const input = estimateTokens(req.system.length + req.messages.reduce((a, m) => a + m.content.length, 0));
    return Promise.resolve({
      text,
      usage: { input_tokens: input, output_tokens: estimateTokens(text.length) },
      model: this.model,
      provider: this.name,
      latencyMs: Math.round(performance.now() - t0),
      costUsd: 0,
      calls: 1,
    });
  }

  async *stream(req: LlmRequest): AsyncIterable<string> {
    const { text } = await this.complete(req);
    for (const piece of text.match(/\S+\s*/g) ?? []) yield piece;
  }
}
