/** One small interface for every model provider (Anthropic, Bedrock, offline). */
import type { z } from "zod";

export interface LlmMessage {
  role: "user" | "assistant";
  content: string;
}

export interface LlmRequest {
  system: string;
  messages: LlmMessage[];
  /** @default 2048 */
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

export interface Usage {
  input_tokens: number;
  output_tokens: number;
}

export interface LlmResult<T = unknown> {
  text: string;
  value?: T;
  usage: Usage;
  model: string;
  provider: string;
  latencyMs: number;
  costUsd: number;
  /** Calls made, including retries and the repair round trip. */
  calls: number;
}

export interface LlmProvider {
  readonly name: string;
  readonly model: string;
  /** Free-text completion. @throws PipelineError PROVIDER_* */
  complete(req: LlmRequest): Promise<LlmResult>;
}

/** Streamed text pieces of a completion (chat). */
export interface StreamingLlmProvider extends LlmProvider {
  stream(req: LlmRequest): AsyncIterable<string>;
}

export type Schema<T> = z.ZodType<T>;
