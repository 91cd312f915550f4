/**
 * Conversation chunks for retrieval (SPEC §3.5): ~2000 tokens (≈ 4 chars each), sentence
 * boundaries, an overlap of about 200 tokens taken as whole trailing sentences, a title/date
 * header on every chunk, long messages cut at 5,000 chars. No chunk for an empty conversation.
 */
import { isoDate, type RenderMessage } from "./sample.ts";

export interface ChunkOptions {
  /** @default 2000 (tokens) */
  targetTokens: number;
  /** @default 200 (tokens) */
  overlapTokens: number;
  /** @default 5000 (chars) */
  maxMessageChars: number;
}

export const DEFAULT_CHUNKING: ChunkOptions = { targetTokens: 2000, overlapTokens: 200, maxMessageChars: 5000 };

export interface Chunk {
  chunk_index: number;
  content: string;
  token_count: number;
  message_count: number;
}

const tokens = (s: string) => Math.floor(s.length / 4);

/** Sentences: split after . ? ! or a newline; the delimiter stays with its sentence. */
export function sentences(text: string): string[] {
  return text.match(/[^.?!\n]+(?:[.?!]+(?=\s|$)|\n|$)|[.?!\n]+/g)?.map((s) => s.trim()).filter(Boolean) ?? [];
}

export function chunkConversation(
  c: { title: string; created_at: string | null; messages: RenderMessage[] },
  o: ChunkOptions = DEFAULT_CHUNKING,
): Chunk[] {
  const msgs = c.messages.filter((m) => (m.role === "user" || m.role === "assistant") && m.content.trim());
  if (msgs.length === 0) return [];
  const header = `# ${c.title} (${isoDate(c.created_at)})`;
  const label = (m: RenderMessage) => (m.role === "user" ? "User" : "Assistant");
  const texts = msgs.map((m) =>
    m.content.length > o.maxMessageChars ? `${m.content.slice(0, o.maxMessageChars)} [truncated]` : m.content
  );
  const whole = msgs.map((m, i) => `${label(m)}: ${texts[i]}`).join("\n");
  if (tokens(whole) <= o.targetTokens) {
    return [{
      chunk_index: 0,
      content: `${header}\n${whole}`,
      token_count: tokens(header) + tokens(whole) + 1,
      message_count: msgs.length,
    }];
  }
  // Units: sentences tagged with the message they belong to. A chunk's body gives each message
  // its own line with its role label, also a message the chunk (or its overlap) enters midway,
  // so a reader of any chunk can tell who said what.
  const units: { s: string; msg: number }[] = [];
  texts.forEach((t, i) => sentences(t).forEach((s) => units.push({ s, msg: i })));
  const chunks: Chunk[] = [];
  let cur: typeof units = [];
  let size = 0;
  const flush = () => {
    const lines: string[] = [];
    let prev = -1;
    for (const u of cur) {
      if (u.msg !== prev) lines.push(`${label(msgs[u.msg]!)}: ${u.s}`);
      else lines[lines.length - 1] += ` ${u.s}`;
      prev = u.msg;
    }
    const body = lines.join("\n");
    chunks.push({
      chunk_index: chunks.length,
      content: `${header}\n${body}`,
      token_count: tokens(header) + tokens(body) + 1,
      message_count: new Set(cur.map((u) => u.msg)).size,
    });
  };
  for (const u of units) {
    const t = tokens(u.s) + 1 + (cur.at(-1)?.msg === u.msg ? 0 : 3); // a new message's line adds its label
    if (size + t > o.targetTokens && cur.length) {
      flush();
      // Overlap: the trailing sentences worth about overlapTokens start the next chunk.
      const keep: typeof units = [];
      let k = 0;
      for (let i = cur.length - 1; i >= 0 && k + tokens(cur[i]!.s) <= o.overlapTokens; i--) {
        keep.unshift(cur[i]!);
        k += tokens(cur[i]!.s) + 1;
      }
      cur = keep;
      size = k;
    }
    cur.push(u);
    size += t;
  }
  if (cur.length) flush();
  return chunks;
}
