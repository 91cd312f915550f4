/** One small interface for every model provider (Anthropic, Bedrock, offline). */
import type { z } from "zod";

import type { LlmMessage, LlmRequest } from "../../processors/llm-request.ts";

export type { LlmMessage, LlmRequest };

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
