/**
 * Choosing and rendering conversations for a model's context (SPEC §3.2, §3.10), budgeted in
 * tokens with hard caps: nothing is ever force-included beyond them.
 */

export interface ConversationStats {
  conversation_id: string;
  title: string;
  created_at: string;
  message_count: number;
  user_message_count: number;
  assistant_message_count: number;
  /** Σ over user messages of min(length, 500). */
  user_chars: number;
  /** Σ of all message lengths. */
  total_chars: number;
}

export interface RenderMessage {
  role: string;
  content: string;
}

/** A conversation's message figures, as ingest stores them beside it and sampling scores them. */
export function messageFigures(
  messages: readonly RenderMessage[],
): Omit<ConversationStats, "conversation_id" | "title" | "created_at"> {
  let user = 0, assistant = 0, userChars = 0, totalChars = 0;
  for (const m of messages) {
    if (m.role === "user") (user++, userChars += Math.min(m.content.length, 500));
    else if (m.role === "assistant") assistant++;
    totalChars += m.content.length;
  }
  return {
    message_count: messages.length,
    user_message_count: user,
    assistant_message_count: assistant,
    user_chars: userChars,
    total_chars: totalChars,
  };
}

/** SPEC §3.2 score: engagement first, recency as the tie-break. */
export function score(c: ConversationStats): number {
  return 10 * c.message_count + c.user_chars + 20 * Math.min(c.user_message_count, c.assistant_message_count) +
    Date.parse(c.created_at) / 1000 / 1e12;
}

export interface SampleBudget {
  /** Target, in tokens (≈ 4 chars each). @default 50000 */
  targetTokens: number;
  /** Hard cap, in tokens. @default 150000 */
  capTokens: number;
  /** @default 50 */
  maxConversations: number;
  /** @default 5 */
  minConversations: number;
}

export const QUICK_PASS_BUDGET: SampleBudget = {
  targetTokens: 50_000,
  capTokens: 150_000,
  maxConversations: 50,
  minConversations: 5,
};

/** Regenerate's sample: the top 200 conversations, within what one request holds with MEMORY. */
export const REGENERATE_BUDGET: SampleBudget = {
  targetTokens: 140_000,
  capTokens: 150_000,
  maxConversations: 200,
  minConversations: 5,
};

/**
 * Conversations to send, in score order. Eligible: ≥ 4 messages (else the first 50 as they come).
 * Walks in score order: past the cap stops once something is chosen; past the target includes
 * only while fewer than `minConversations` are chosen and the cap holds.
 */
export function selectSample(all: ConversationStats[], b: SampleBudget = QUICK_PASS_BUDGET): ConversationStats[] {
  const eligible = all.filter((c) => c.message_count >= 4);
  const pool = eligible.length ? [...eligible].sort((x, y) => score(y) - score(x)) : all.slice(0, 50);
  const target = b.targetTokens * 4, cap = b.capTokens * 4;
  const out: ConversationStats[] = [];
  let total = 0;
  for (const c of pool) {
    if (out.length >= b.maxConversations) break;
    const size = Math.min(c.total_chars, c.message_count * 2000 + 200); // rendered size: messages are cut at 2,000 chars
    if (total + size > cap) {
      if (out.length) break;
      continue;
    }
    if (total + size > target && !(out.length < b.minConversations)) continue;
    out.push(c);
    total += size;
  }
  return out;
}

/** `YYYY-MM-DD` in UTC, or "unknown". */
export function isoDate(iso: string | null | undefined): string {
  if (!iso) return "unknown";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "unknown" : d.toISOString().slice(0, 10);
}

/** `YYYY-MM-DDTHH:MMZ` in UTC (the hour lets an analysis see when the person writes), or "unknown". */
export function isoMinute(iso: string | null | undefined): string {
  const day = isoDate(iso);
  return day === "unknown" ? day : `${new Date(iso!).toISOString().slice(0, 16)}Z`;
}

/**
 * One block per conversation: `=== title | start time (UTC, to the minute) ===`, then `User:` / `Assistant:` lines; each
 * message cut at `perMessage` chars with a marker; stops before the block that would pass
 * `maxChars`.
 */
export function renderConversations(
  convs: { title: string; created_at: string | null; messages: RenderMessage[] }[],
  maxChars: number,
  perMessage = 2000,
): string {
  const blocks: string[] = [];
  let total = 0;
  for (const c of convs) {
    const lines = [`=== ${c.title.replace(/\s+/g, " ").slice(0, 200)} | ${isoMinute(c.created_at)} ===`];
    for (const m of c.messages) {
      if (m.role !== "user" && m.role !== "assistant") continue;
      const text = m.content.length > perMessage ? `${m.content.slice(0, perMessage)} [truncated]` : m.content;
      lines.push(`${m.role === "user" ? "User" : "Assistant"}: ${text.replace(/\n+/g, " ")}`);
    }
    const block = lines.join("\n");
    if (total + block.length + 2 > maxChars) break;
    blocks.push(block);
    total += block.length + 2;
  }
  return blocks.join("\n\n");
}

/** The conversation text of a sections request: the sample rendered within what the cap leaves for the prompt, MEMORY and the answer. */
export function sectionsData(
  chosen: { title: string; created_at: string | null; messages: RenderMessage[] }[],
  budget: SampleBudget,
  memoryMd?: string | null,
): string {
  return renderConversations(chosen, (budget.capTokens - 10_000) * 4 - (memoryMd?.length ?? 0));
}
