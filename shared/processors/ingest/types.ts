/** Canonical conversations: what every export format is turned into. */

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

/** A conversation that could not be used; counted on the job, never fatal. */
export interface IngestWarning {
  ref: string;
  code:
    | "NO_MAPPING"
    | "DANGLING_PARENT"
    | "CYCLE"
    | "NO_VISIBLE_MESSAGES"
    | "NOT_AN_OBJECT"
    | "TOO_LARGE"
    | "JSON_INVALID";
  message: string;
}

export type Canonicalized = { ok: true; conversation: CanonicalConversation; warning?: IngestWarning } | {
  ok: false;
  warning: IngestWarning;
};

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
 * The common end of every format's canonicalisation: no visible message is a warning; the
 * conversation time falls back to its first message's time, then to the upload time.
 */
export function finishConversation(
  base: Omit<CanonicalConversation, "created_at" | "messages">,
  createdRaw: unknown,
  messages: CanonicalMessage[],
  fallbackTime: string,
): Canonicalized {
  if (messages.length === 0) {
    return {
      ok: false,
      warning: {
        ref: base.id,
        code: "NO_VISIBLE_MESSAGES",
        message: `conversation "${base.title}" has no visible messages`,
      },
    };
  }
  const created_at = toIsoUtc(createdRaw) ?? messages.find((m) => m.created_at)?.created_at ?? fallbackTime;
  return { ok: true, conversation: { ...base, created_at, messages } };
}
