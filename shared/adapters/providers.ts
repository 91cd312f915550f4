/**
 * Provider configuration and construction. The offline provider is the default whenever no
 * real provider is configured, so the whole pipeline runs on a fresh machine.
 *   LLM_PROVIDER          offline | anthropic | bedrock   (default: anthropic when ANTHROPIC_API_KEY is set, else offline)
 *   ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_MODEL (default claude-haiku-4-5-20251001)
 *   AWS_REGION (us-east-1), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BEDROCK_ENDPOINT,
 *   BEDROCK_MODEL_ID (us.anthropic.claude-haiku-4-5-20251001-v1:0)
 *   EMBEDDING_PROVIDER    offline | bedrock (default: bedrock when AWS keys are set, else offline)
 *   BEDROCK_EMBEDDING_MODEL_ID (amazon.titan-embed-text-v2:0), EMBEDDING_DIMENSION (768)
 *   LLM_RPM (50), LLM_TPM (200000), LLM_PRICE_INPUT_PER_MTOK (1), LLM_PRICE_OUTPUT_PER_MTOK (5),
 *   EMBEDDING_PRICE_PER_MTOK (0.02)
 */
import { PipelineError } from "../processors/errors.ts";
import { DEFAULT_PRICES, type Prices } from "../processors/pricing.ts";
import type { Db } from "./db.ts";
import { type Embedder, OfflineEmbedder, TitanEmbedder } from "./embedder.ts";
import { AnthropicProvider } from "./llm/anthropic.ts";
import { BedrockProvider } from "./llm/bedrock.ts";
import { OfflineProvider } from "./llm/offline.ts";
import type { LlmProvider } from "./llm/types.ts";
import { PostgresRateLimiter, type RateLimiter, unlimited } from "./ratelimit.ts";

type Env = { get(name: string): string | undefined };

export interface ProviderConfig {
  llm: "offline" | "anthropic" | "bedrock";
  embedding: "offline" | "bedrock";
  anthropic: { apiKey?: string; baseUrl?: string; model: string };
  bedrock: {
    region: string;
    endpoint?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    model: string;
    embeddingModel: string;
  };
  dimension: number;
  limits: { rpm: number; tpm: number };
  prices: Prices;
}

/** @throws PipelineError CONFIG_INVALID naming every problem. */
export function loadProviderConfig(env: Env = Deno.env): ProviderConfig {
  const problems: string[] = [];
  const num = (k: string, d: number) => {
    const v = env.get(k);
    if (v === undefined || v === "") return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) problems.push(`${k} (not a positive number)`);
    return n;
  };
  const hasAws = !!env.get("AWS_ACCESS_KEY_ID") && !!env.get("AWS_SECRET_ACCESS_KEY");
  const llm =
    (env.get("LLM_PROVIDER") || (env.get("ANTHROPIC_API_KEY") ? "anthropic" : "offline")) as ProviderConfig["llm"];
  const embedding = (env.get("EMBEDDING_PROVIDER") || (hasAws ? "bedrock" : "offline")) as ProviderConfig["embedding"];
  if (!["offline", "anthropic", "bedrock"].includes(llm)) {
    problems.push(`LLM_PROVIDER (${llm}: expected offline, anthropic or bedrock)`);
  }
  if (!["offline", "bedrock"].includes(embedding)) {
    problems.push(`EMBEDDING_PROVIDER (${embedding}: expected offline or bedrock)`);
  }
  if (llm === "anthropic" && !env.get("ANTHROPIC_API_KEY")) {
    problems.push("ANTHROPIC_API_KEY (missing for LLM_PROVIDER=anthropic)");
  }
  if ((llm === "bedrock" || embedding === "bedrock") && !hasAws) {
    problems.push("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (missing for bedrock)");
  }
  const cfg: ProviderConfig = {
    llm,
    embedding,
    anthropic: {
      apiKey: env.get("ANTHROPIC_API_KEY"),
      baseUrl: env.get("ANTHROPIC_BASE_URL"),
      model: env.get("ANTHROPIC_MODEL") || "claude-haiku-4-5-20251001",
    },
    bedrock: {
      region: env.get("AWS_REGION") || "us-east-1",
      endpoint: env.get("BEDROCK_ENDPOINT"),
      accessKeyId: env.get("AWS_ACCESS_KEY_ID"),
      secretAccessKey: env.get("AWS_SECRET_ACCESS_KEY"),
      model: env.get("BEDROCK_MODEL_ID") || "us.anthropic.claude-haiku-4-5-20251001-v1:0",
      embeddingModel: env.get("BEDROCK_EMBEDDING_MODEL_ID") || "amazon.titan-embed-text-v2:0",
    },
    dimension: num("EMBEDDING_DIMENSION", 768),
    limits: { rpm: num("LLM_RPM", 50), tpm: num("LLM_TPM", 200_000) },
    prices: {
      llmInputPerMTok: num("LLM_PRICE_INPUT_PER_MTOK", DEFAULT_PRICES.llmInputPerMTok),
      llmOutputPerMTok: num("LLM_PRICE_OUTPUT_PER_MTOK", DEFAULT_PRICES.llmOutputPerMTok),
      embeddingPerMTok: num("EMBEDDING_PRICE_PER_MTOK", DEFAULT_PRICES.embeddingPerMTok),
    },
  };
  if (problems.length) {
    throw new PipelineError("CONFIG_INVALID", `invalid provider configuration: ${problems.join("; ")}`);
  }
  return Object.freeze(cfg);
}

export function createLlm(cfg: ProviderConfig, db: Db | null): LlmProvider {
  const limiter: RateLimiter = db ? new PostgresRateLimiter(db, cfg.limits) : unlimited;
  switch (cfg.llm) {
    case "anthropic":
      return new AnthropicProvider({
        apiKey: cfg.anthropic.apiKey!,
        baseUrl: cfg.anthropic.baseUrl,
        model: cfg.anthropic.model,
        prices: cfg.prices,
        limiter,
      });
    case "bedrock":
      return new BedrockProvider({
        ...cfg.bedrock,
        accessKeyId: cfg.bedrock.accessKeyId!,
        secretAccessKey: cfg.bedrock.secretAccessKey!,
        prices: cfg.prices,
        limiter,
      });
    default:
      return new OfflineProvider();
  }
}

export function createEmbedder(cfg: ProviderConfig, db: Db | null): Embedder {
  if (cfg.embedding === "bedrock") {
    return new TitanEmbedder({
      ...cfg.bedrock,
      accessKeyId: cfg.bedrock.accessKeyId!,
      secretAccessKey: cfg.bedrock.secretAccessKey!,
      model: cfg.bedrock.embeddingModel,
      dimension: cfg.dimension,
      prices: cfg.prices,
      limiter: db ? new PostgresRateLimiter(db, { rpm: 2000, tpm: 10_000_000 }) : unlimited,
    });
  }
  return new OfflineEmbedder(cfg.dimension);
}
