/** Claude on Amazon Bedrock (InvokeModel) through @aws-sdk/client-bedrock-runtime. */
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { llmCostUsd, type Prices } from "../../processors/pricing.ts";
import type { RateLimiter } from "../ratelimit.ts";
import { withRetries } from "./retry.ts";
import type { LlmProvider, LlmRequest, LlmResult } from "./types.ts";

export interface BedrockOptions {
  region: string;
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  model: string;
  prices: Prices;
  limiter: RateLimiter;
}

export function bedrockClient(o: Pick<BedrockOptions, "region" | "endpoint" | "accessKeyId" | "secretAccessKey">) {
  return new BedrockRuntimeClient({
    region: o.region,
    endpoint: o.endpoint,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    maxAttempts: 1, // our retries share the quota
  });
}

export class BedrockProvider implements LlmProvider {
  readonly name = "bedrock";
  readonly model: string;
  private client: BedrockRuntimeClient;

  constructor(private o: BedrockOptions) {
    this.model = o.model;
    this.client = bedrockClient(o);
  }

  async complete(req: LlmRequest): Promise<LlmResult> {
    const t0 = performance.now();
    const body = JSON.stringify({
      anthropic_version: "bedrock-2023-05-31",
      max_tokens: req.maxTokens ?? 2048,
      temperature: req.temperature ?? 0.3,
      system: req.system,
      messages: req.messages,
    });
    const est = Math.ceil(body.length / 4) + (req.maxTokens ?? 2048);
    type Answer = {
      content: { type: string; text?: string }[];
      usage: { input_tokens: number; output_tokens: number };
    };
    const { value: msg, calls } = await withRetries(
      async () => {
        const out = await this.client.send(
          new InvokeModelCommand({
            modelId: this.model,
            contentType: "application/json",
            accept: "application/json",
            body,
          }),
        );
        return JSON.parse(new TextDecoder().decode(out.body)) as Answer;
      },
      {
        limiter: this.o.limiter,
        key: `bedrock:${this.model}`,
        estimatedTokens: est,
        usedTokens: (m) => m.usage.input_tokens + m.usage.output_tokens,
        deadline: req.deadline ?? Date.now() + 90_000,
      },
    );
    const text = msg.content.map((b) => (b.type === "text" ? b.text ?? "" : "")).join("");
    const usage = { input_tokens: msg.usage.input_tokens, output_tokens: msg.usage.output_tokens };
    return {
      text,
      usage,
      model: this.model,
      provider: this.name,
      calls,
      latencyMs: Math.round(performance.now() - t0),
      costUsd: llmCostUsd(this.o.prices, usage.input_tokens, usage.output_tokens),
    };
  }
}
