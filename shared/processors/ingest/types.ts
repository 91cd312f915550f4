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
