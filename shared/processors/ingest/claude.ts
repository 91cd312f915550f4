/**
 * Claude.ai conversation -> canonical thread (SPEC §2.2): human -> user; text only from
 * `content[type=text]` blocks (an assistant's `text` field also holds its thinking); branches
 * by `parent_message_uuid` resolved to the newest leaf.
 */
import { type Canonicalized, type CanonicalMessage, finishConversation, refOf, toIsoUtc } from "./types.ts";

const ROOT = "00000000-0000-4000-8000-000000000000";

type ClaudeMsg = {
  uuid?: string;
  text?: unknown;
  content?: Array<{ type?: string; text?: unknown }>;
  sender?: string;
  created_at?: unknown;
  parent_message_uuid?: string;
};

function textOf(m: ClaudeMsg): string {
  if (Array.isArray(m.content) && m.content.length) {
    return m.content.filter((b) => b?.type === "text" && typeof b.text === "string").map((b) => (b.text as string))
      .join("\n").trim();
  }
  return typeof m.text === "string" ? m.text.trim() : "";
}

/** The thread: from the newest leaf back to the root sentinel when parent links exist. */
function thread(msgs: ClaudeMsg[]): ClaudeMsg[] | "CYCLE" {
  if (!msgs.some((m) => typeof m.parent_message_uuid === "string")) return msgs;
  const byId = new Map(msgs.filter((m) => m.uuid).map((m) => [m.uuid!, m]));
  const parents = new Set(msgs.map((m) => m.parent_message_uuid).filter((p): p is string => !!p));
  const leaves = msgs.filter((m) => m.uuid && !parents.has(m.uuid));
  const newest = leaves.reduce<ClaudeMsg | undefined>((best, m) => {
    const t = toIsoUtc(m.created_at) ?? "";
    return !best || t >= (toIsoUtc(best.created_at) ?? "") ? m : best;
  }, undefined);
  const out: ClaudeMsg[] = [];
  const seen = new Set<string>();
  let cur = newest;
  while (cur) {
    if (seen.has(cur.uuid!)) return "CYCLE";
    seen.add(cur.uuid!);
    out.push(cur);
    const p = cur.parent_message_uuid;
    cur = p && p !== ROOT ? byId.get(p) : undefined;
  }
  return out.reverse();
}

export function canonicalClaude(raw: unknown, index: number, fallbackTime: string): Canonicalized {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    return {
      ok: false,
      warning: { ref: `#${index}`, code: "NOT_AN_OBJECT", message: "conversation is not an object" },
    };
  }
  const c = raw as Record<string, unknown>;
  const ref = refOf(c.uuid, index);
  const title = typeof c.name === "string" && c.name.trim() ? c.name.trim() : "Untitled";
  const msgs = Array.isArray(c.chat_messages)
    ? (c.chat_messages as ClaudeMsg[]).filter((m) => m && typeof m === "object")
    : [];
  const t = thread(msgs);
  if (t === "CYCLE") {
    return {
      ok: false,
      warning: { ref, code: "CYCLE", message: `conversation "${title}": parent links form a cycle` },
    };
  }
  const messages: CanonicalMessage[] = t.flatMap((m) => {
    const role = m.sender === "human" ? "user" : m.sender === "assistant" ? "assistant" : null;
    const content = textOf(m);
    return role && content ? [{ role, content, created_at: toIsoUtc(m.created_at) } as CanonicalMessage] : [];
  });
  return finishConversation(
    { title, updated_at: toIsoUtc(c.updated_at), model: null, source: "claude" },
    c.uuid,
    index,
    c.created_at,
    messages,
    fallbackTime,
  );
}

/** True when a parsed conversation object looks like Claude.ai's (has chat_messages). */
export function isClaudeConversation(o: unknown): boolean {
  return !!o && typeof o === "object" && Array.isArray((o as Record<string, unknown>).chat_messages);
}
