/** Canonical conversations: what every export format is turned into. */
import { createHash } from "node:crypto";

export interface CanonicalMessage {
  role: "user" | "assistant" | "system";
  content: string;
  /** ISO-8601 UTC, or null when the export has no time for the message. */
  created_at: string | null;
}

export interface CanonicalConversation {
  /** The export's own id (ChatGPT `id`/`conversation_id`, Claude `uuid`). */
  id: string;
  title: string;
  /** ISO-8601 UTC: conversation time -> first message time -> upload time. */
  created_at: string;
  updated_at: string | null;
  model: string | null;
  source: "chatgpt" | "claude";
  messages: CanonicalMessage[];
}

/**
 * A conversation that could not be used, or was kept after a repair (BAD_ID, NUL_STRIPPED,
 * INVALID_UTF8); counted on the job, never fatal.
 */
export interface IngestWarning {
  ref: string;
  code:
    | "NO_MAPPING"
    | "DANGLING_PARENT"
    | "CYCLE"
    | "NO_VISIBLE_MESSAGES"
    | "NOT_AN_OBJECT"
    | "TOO_LARGE"
    | "JSON_INVALID"
    | "BAD_ID"
    | "NUL_STRIPPED"
    | "INVALID_UTF8";
  message: string;
}

export type Canonicalized = { ok: true; conversation: CanonicalConversation; warnings: IngestWarning[] } | {
  ok: false;
  warning: IngestWarning;
};

/** raw_conversations.conversation_id holds 1 to 300 characters. */
export const MAX_ID_CHARS = 300;

/** The export's id when it can be stored as is: a string, 1..300 characters without NUL. */
function usableId(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  const id = raw.includes("\0") ? raw.replaceAll("\0", "") : raw;
  return id.length >= 1 && id.length <= MAX_ID_CHARS && id.isWellFormed() ? id : null;
}

/** How a warning names a conversation: its id when usable, else its position in the export. */
export function refOf(rawId: unknown, index: number): string {
  return usableId(rawId) ?? `#${index}`;
}

/**
 * Text the database can store: without U+0000 (Postgres text refuses it) and with lone UTF-16
 * surrogates (from `\ud800`-style escapes) replaced by U+FFFD. Notes what it changed in `seen`.
 */
function cleanText(s: string, seen: { nul: boolean; surrogate: boolean }): string {
  if (s.includes("\0")) {
    seen.nul = true;
    s = s.replaceAll("\0", "");
  }
  if (!s.isWellFormed()) {
    seen.surrogate = true;
    s = s.toWellFormed();
  }
  return s;
}

/** Epoch seconds (number or numeric string) or ISO string -> ISO-8601 UTC, else null. */
export function toIsoUtc(v: unknown): string | null {
  if (typeof v === "number" && Number.isFinite(v) && v > 0) {
    const ms = v > 1e12 ? v : v * 1000; // seconds (ChatGPT floats) or milliseconds
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  if (typeof v === "string" && v.trim()) {
    if (/^\d+(\.\d+)?$/.test(v.trim())) return toIsoUtc(Number(v));
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  return null;
}

/**
 * The common end of every format's canonicalisation: text is made storable (NUL removed, lone
 * surrogates replaced; each a warning), no visible message is a warning, and an id the database
 * cannot hold is replaced. The conversation time falls back to its first message's time, then
 * to the upload time.
 * @param rawId the export's id for the conversation, whatever its type (undefined when absent).
 * @param index the conversation's position in the export, for warnings.
 */
export function finishConversation(
  base: Omit<CanonicalConversation, "id" | "created_at" | "messages">,
  rawId: unknown,
  index: number,
  createdRaw: unknown,
  rawMessages: CanonicalMessage[],
  fallbackTime: string,
): Canonicalized {
  const seen = { nul: false, surrogate: false };
  const title = cleanText(base.title, seen) || "Untitled";
  const model = base.model === null ? null : cleanText(base.model, seen);
  const messages = rawMessages.flatMap((m) => {
    if (!m.content.includes("\0") && m.content.isWellFormed()) return [m];
    const content = cleanText(m.content, seen).trim();
    return content ? [{ ...m, content }] : [];
  });
  const ref = refOf(rawId, index);
  if (messages.length === 0) {
    return {
      ok: false,
      warning: { ref, code: "NO_VISIBLE_MESSAGES", message: `conversation "${title}" has no visible messages` },
    };
  }
  const created = toIsoUtc(createdRaw) ?? messages.find((m) => m.created_at)?.created_at ?? null;
  const warnings: IngestWarning[] = [];
  let id = usableId(rawId);
  if (id === null) {
    // A stable replacement: the same export gives the same id on every run, so a re-import
    // updates the same row. A bad but present id (too long, a number) is hashed itself, so the
    // replacement also survives a later, longer export; a missing or empty one is hashed with
    // what identifies the conversation (title, start time, first message). Never the upload
    // time or the position, which change between exports.
    const present = rawId !== undefined && rawId !== null && rawId !== "";
    const identity = present
      ? ["id", rawId]
      : ["conversation", base.source, title, created, messages[0]!.content, messages[0]!.created_at];
    id = "sha256-" + createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 32);
    const what = !present
      ? "has no id"
      : typeof rawId !== "string"
      ? `has an id that is not text (${JSON.stringify(rawId)?.slice(0, 40)})`
      : rawId.length > MAX_ID_CHARS
      ? `has an id of ${rawId.length} characters (at most ${MAX_ID_CHARS} can be stored)`
      : "has an id that is not valid text";
    warnings.push({ ref: id, code: "BAD_ID", message: `conversation "${title}" ${what}; it is stored as ${id}` });
  } else if (typeof rawId === "string" && rawId !== id) seen.nul = true;
  if (seen.nul) {
    warnings.push({
      ref: id,
      code: "NUL_STRIPPED",
      message: `conversation "${title}" held NUL characters (U+0000); they were removed`,
    });
  }
  if (seen.surrogate) {
    warnings.push({
      ref: id,
      code: "INVALID_UTF8",
      message: `conversation "${title}" held invalid Unicode (lone surrogates); it was replaced by U+FFFD`,
    });
  }
  const created_at = created ?? fallbackTime;
  return { ok: true, conversation: { ...base, id, title, model, created_at, messages }, warnings };
}
