/**
 * The shape of a model request: built by processors (prompts), sent by adapters (providers).
 * It lives here so processors never import an adapter; shared/adapters/llm/types.ts re-exports it.
 */

export interface LlmMessage {
  role: "user" | "assistant";
  content: string;
}

export interface LlmRequest {
  system: string;
  messages: LlmMessage[];
  /** Most output tokens. @default 2048 */
  maxTokens?: number;
  /** @default 0.3 */
  temperature?: number;
  /** What the call is for ("sections", "facts", "memory", "chat"); the offline analyser uses it. */
  purpose?: string;
  /** Deadline (ms since epoch) for the call including retries; past it the call fails. */
  deadline?: number;
  /** Which pipeline stage and job the call serves (request capture, logs); providers ignore it. */
  tag?: { stage: string; jobId: string | null };
}
