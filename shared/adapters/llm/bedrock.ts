/** Claude on Amazon Bedrock (InvokeModel) through @aws-sdk/client-bedrock-runtime. */
import type { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
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

/**
 * One InvokeModel call: `body` (JSON) to `modelId`, the reply parsed as JSON. The SDK loads with
 * the first call, so a function that never calls Bedrock does not pay its start-up.
 */
export function bedrockInvoker(o: Pick<BedrockOptions, "region" | "endpoint" | "accessKeyId" | "secretAccessKey">) {
  let sdk: Promise<{ client: BedrockRuntimeClient; Invoke: typeof InvokeModelCommand }> | undefined;
  const load = () =>
    sdk ??= import("@aws-sdk/client-bedrock-runtime").then(({ BedrockRuntimeClient, InvokeModelCommand }) => ({
      client: new BedrockRuntimeClient({
        region: o.region,
        endpoint: o.endpoint,
        credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
        maxAttempts: 1, // our retries share the quota
      }),
      Invoke: InvokeModelCommand,
    }));
  return async <T>(modelId: string, body: string): Promise<T> => {
    const { client, Invoke } = await load();
    const out = await client.send(
      new Invoke({ modelId, contentType: "application/json", accept: "application/json", body }),
    );
    return JSON.parse(new TextDecoder().decode(out.body)) as T;
  };
}

export class BedrockProvider implements LlmProvider {
  readonly name = "bedrock";
  readonly model: string;
  private invoke: ReturnType<typeof bedrockInvoker>;

  constructor(private o: BedrockOptions) {
    this.model = o.model;
    this.invoke = bedrockInvoker(o);
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
      () => this.invoke<Answer>(this.model, body),
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
