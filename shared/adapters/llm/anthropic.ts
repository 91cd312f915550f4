/** Anthropic Messages API through @anthropic-ai/sdk (SDK retries off: ours share the quota). */
import type Anthropic from "@anthropic-ai/sdk";
import { llmCostUsd, type Prices } from "../../processors/pricing.ts";
import type { RateLimiter } from "../ratelimit.ts";
import { withRetries } from "./retry.ts";
import type { LlmProvider, LlmRequest, LlmResult, StreamingLlmProvider } from "./types.ts";

export interface AnthropicOptions {
  apiKey: string;
  baseUrl?: string;
  model: string;
  prices: Prices;
  limiter: RateLimiter;
  /** Per-request timeout. @default 120000 */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class AnthropicProvider implements LlmProvider, StreamingLlmProvider {
  readonly name = "anthropic";
  readonly model: string;
  private client: Promise<Anthropic> | undefined;

  constructor(private o: AnthropicOptions) {
    this.model = o.model;
  }

  /** The SDK client, loaded by the first request: a function that never calls the model skips its start-up. */
  private sdk(): Promise<Anthropic> {
    return this.client ??= import("@anthropic-ai/sdk").then(({ default: Sdk }) =>
      new Sdk({
        apiKey: this.o.apiKey,
        baseURL: this.o.baseUrl,
        maxRetries: 0,
        timeout: this.o.timeoutMs ?? 120_000,
        fetch: this.o.fetch,
      })
    );
  }

  private params(req: LlmRequest) {
    return {
      model: this.model,
      max_tokens: req.maxTokens ?? 2048,
      temperature: req.temperature ?? 0.3,
      system: req.system,
      messages: req.messages,
    };
  }

  async complete(req: LlmRequest): Promise<LlmResult> {
    const t0 = performance.now();
    const est = Math.ceil((req.system.length + req.messages.reduce((a, m) => a + m.content.length, 0)) / 4) +
      (req.maxTokens ?? 2048);
    const client = await this.sdk();
    const { value: msg, calls } = await withRetries(() => client.messages.create(this.params(req)), {
      limiter: this.o.limiter,
      key: `anthropic:${this.model}`,
      estimatedTokens: est,
      usedTokens: (m) => m.usage.input_tokens + m.usage.output_tokens,
      deadline: req.deadline ?? Date.now() + 90_000,
    });
    const text = msg.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    const usage = { input_tokens: msg.usage.input_tokens, output_tokens: msg.usage.output_tokens };
    return {
      text,
      usage,
      model: msg.model ?? this.model,
      provider: this.name,
      calls,
      latencyMs: Math.round(performance.now() - t0),
      costUsd: llmCostUsd(this.o.prices, usage.input_tokens, usage.output_tokens),
    };
  }

  async *stream(req: LlmRequest): AsyncIterable<string> {
    const s = (await this.sdk()).messages.stream(this.params(req));
    for await (const ev of s) {
      if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") yield ev.delta.text;
    }
  }
}
