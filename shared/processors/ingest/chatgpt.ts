/**
 * ChatGPT conversation -> canonical thread (SPEC §2.1). The thread is the path from
 * `current_node` up to the root, reversed; never mapping key order. Only what the person saw
 * is kept: user and assistant text (and user-authored system messages); tool output, browsing,
 * code sent to tools, thoughts, reasoning recaps, hidden and custom-instruction nodes are not.
 */
import { type Canonicalized, type CanonicalMessage, finishConversation, refOf, toIsoUtc } from "./types.ts";

type Node = { id?: string; message?: Msg | null; parent?: string | null; children?: string[] };
type Msg = {
  author?: { role?: string };
  create_time?: unknown;
  content?: { content_type?: string; parts?: unknown[]; text?: unknown };
  recipient?: string;
  channel?: string | null;
  metadata?: Record<string, unknown>;
};

const KEPT_TYPES = new Set(["text", "multimodal_text"]);

function messageText(m: Msg): string {
  const c = m.content ?? {};
  if (!KEPT_TYPES.has(c.content_type ?? "")) return "";
  if (Array.isArray(c.parts)) {
    return c.parts.filter((p): p is string => typeof p === "string").join("\n").trim();
  }
  return typeof c.text === "string" ? c.text.trim() : "";
}

/** A message is kept when the person saw it in the thread (SPEC §2.1 rules). */
function keep(m: Msg): CanonicalMessage | null {
  const role = m.author?.role;
  const meta = m.metadata ?? {};
  if (role !== "user" && role !== "assistant" && !(role === "system" && meta.is_user_system_message === true)) {
    return null;
  }
  if (meta.is_visually_hidden_from_conversation === true) return null;
  if (m.recipient !== undefined && m.recipient !== null && m.recipient !== "all") return null;
  if (role === "assistant" && m.channel !== undefined && m.channel !== null && m.channel !== "final") return null;
  const content = messageText(m);
  if (!content) return null;
  return { role: role as CanonicalMessage["role"], content, created_at: toIsoUtc(m.create_time) };
}

/**
 * The node ids of the canonical thread, root first. From `current_node` when it is in the
 * mapping; otherwise from the root (the node whose parent is missing or absent), following the
 * last child at each level. Returns an error code for cycles and dangling paths.
 */
export function activePath(
  mapping: Record<string, Node>,
  currentNode: unknown,
): { ids: string[] } | { error: "CYCLE" | "DANGLING_PARENT" } {
  const seen = new Set<string>();
  if (typeof currentNode === "string" && mapping[currentNode]) {
    const ids: string[] = [];
    let id: string | null | undefined = currentNode;
    while (id) {
      if (seen.has(id)) return { error: "CYCLE" };
      seen.add(id);
      const node: Node | undefined = mapping[id];
      if (!node) break; // the parent is not in the mapping: that is where the thread starts
      ids.push(id);
      id = node.parent ?? null;
    }
    return { ids: ids.reverse() };
  }
  const keys = Object.keys(mapping);
  const root = keys.find((k) => {
    const p = mapping[k]?.parent;
    return p === null || p === undefined || !mapping[p];
  });
  if (!root) return { error: keys.length ? "CYCLE" : "DANGLING_PARENT" };
  const ids: string[] = [];
  let id: string | undefined = root;
  while (id && mapping[id]) {
    if (seen.has(id)) return { error: "CYCLE" };
    seen.add(id);
    ids.push(id);
    const children: string[] = (mapping[id]!.children ?? []).filter((c) => typeof c === "string" && mapping[c]);
    id = children.at(-1);
  }
  return { ids };
}

/**
 * One ChatGPT conversation object -> canonical conversation, or a warning when unusable.
 * @param fallbackTime ISO time used when neither the conversation nor a message has one (upload time).
 */
export function canonicalChatGpt(raw: unknown, index: number, fallbackTime: string): Canonicalized {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    return {
      ok: false,
      warning: { ref: `#${index}`, code: "NOT_AN_OBJECT", message: "conversation is not an object" },
    };
  }
  const c = raw as Record<string, unknown>;
  const rawId = c.conversation_id ?? c.id;
  const ref = refOf(rawId, index);
  const title = typeof c.title === "string" && c.title.trim() ? c.title.trim() : "Untitled";
  let messages: CanonicalMessage[];
  let model: string | null = typeof c.default_model_slug === "string" ? c.default_model_slug : null;
  if (c.mapping && typeof c.mapping === "object" && !Array.isArray(c.mapping)) {
    const mapping = c.mapping as Record<string, Node>;
    const path = activePath(mapping, c.current_node);
    if ("error" in path) {
      return {
        ok: false,
        warning: {
          ref,
          code: path.error,
          message: `conversation "${title}": ${path.error === "CYCLE" ? "parent links form a cycle" : "no root node"}`,
        },
      };
    }
    messages = [];
    for (const nid of path.ids) {
      const m = mapping[nid]?.message;
      if (!m) continue;
      const kept = keep(m);
      if (kept) messages.push(kept);
      const slug = m.metadata?.model_slug;
      if (kept?.role === "assistant" && typeof slug === "string") model = slug;
    }
  } else if (Array.isArray(c.messages)) {
    messages = (c.messages as unknown[]).flatMap((m) => {
      const o = (m ?? {}) as Record<string, unknown>;
      const role = o.role ?? (o.author as Record<string, unknown> | undefined)?.role;
      const content = typeof o.content === "string" ? o.content.trim() : "";
      return (role === "user" || role === "assistant") && content
        ? [{ role, content, created_at: toIsoUtc(o.create_time ?? o.timestamp) } as CanonicalMessage]
        : [];
    });
  } else {
    return {
      ok: false,
      warning: { ref, code: "NO_MAPPING", message: `conversation "${title}" has no mapping and no messages` },
    };
  }
  return finishConversation(
    { title, updated_at: toIsoUtc(c.update_time), model, source: "chatgpt" },
    rawId,
    index,
    c.create_time,
    messages,
    fallbackTime,
  );
}
