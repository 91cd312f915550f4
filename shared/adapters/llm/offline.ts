/**
 * The offline provider: no network, no key, deterministic. It answers the same requests as the
 * real providers with the extractive analyser (shared/processors/offline-analyser.ts), filling
 * the same schemas; its model name marks everything it makes as offline analysis.
 */
import {
  extractFacts,
  extractProfile,
  memoryMarkdown,
  statementFacts,
  userStatements,
} from "../../processors/offline-analyser.ts";
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

function sections(data: string) {
  const st = userStatements(data);
  const p = extractProfile(st);
  const f = statementFacts(st);
  const nd = "not enough data";
  const avg = st.length ? st.reduce((a, s) => a + s.text.length, 0) / st.length : 0;
  const traits: string[] = [];
  if (st.some((s) => s.text.endsWith("?"))) traits.push("curious");
  if (st.some((s) => /\b(thanks|thank you|please)\b/i.test(s.text))) traits.push("courteous");
  if (avg > 120) traits.push("thorough");
  if (avg && avg < 60) traits.push("concise");
  if (f.projects.length) traits.push("builder");
  const name = NAMES[hash(data) % NAMES.length]!;
  const topics = [...new Set((data.match(/^=== (.*) \| /gm) ?? []).map((h) => h.slice(4, -3)))].slice(0, 5);
  return {
    soul: {
      communication_style: avg
        ? (avg < 60 ? "brief and direct" : avg > 160 ? "detailed and explanatory" : "conversational")
        : nd,
      personality_traits: traits,
      tone_preferences: nd,
      boundaries: nd,
      humor_style: nd,
      formality_level: st.some((s) => /\b(hey|lol|gonna|wanna)\b/i.test(s.text)) ? "casual" : nd,
      emotional_patterns: nd,
    },
    identity: {
      ai_name: name,
      archetype: f.projects.length ? "Steady Builder Companion" : "Thoughtful Companion",
      vibe: traits.length ? `${traits.slice(0, 2).join(", ")} companion` : nd,
      emoji_style: "minimal",
      signature_greeting: p.name ? `Hey ${p.name.split(" ")[0]}.` : "Hey.",
    },
    user: {
      name: p.name ?? nd,
      location: p.location ?? nd,
      occupation: p.occupation ?? nd,
      relationships: p.relationships,
      interests: p.interests,
      life_context: f.projects.length ? `Working on ${f.projects.slice(0, 3).map((x) => x.name).join("; ")}` : nd,
      preferred_address: p.name ? p.name.split(" ")[0]! : nd,
    },
    agents: {
      response_style: avg && avg < 60 ? "short, concrete answers" : nd,
      behavioral_rules: [
        ...(p.name ? [`Address the user as ${p.name.split(" ")[0]}`] : []),
        ...f.decisions.slice(0, 2).map((d) => `Respect the decision: ${d.decision}`),
      ],
      context_adaptation: nd,
      memory_directives: "Use remembered facts naturally; do not announce them",
      do_not: f.preferences.filter((x) => x.startsWith("Dislikes ")).slice(0, 5).map((x) => `Push ${x.slice(9)}`),
    },
    tools: {
      likely_usage: topics,
      capabilities_emphasis: [],
      output_preferences: nd,
      depth_preference: avg > 160 ? "in depth" : nd,
    },
  };
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
        text = JSON.stringify(sections(fenced(req, "conversations")));
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
