/**
 * Provider construction from the provider configuration (loaded in config.ts). The offline
 * provider is the default whenever no real provider is configured.
 *   LLM_PROVIDER          offline | anthropic | bedrock   (default: anthropic when ANTHROPIC_API_KEY is set, else offline)
 *   ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_MODEL (default claude-haiku-4-5-20251001)
 *   AWS_REGION (us-east-1), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BEDROCK_ENDPOINT,
 *   BEDROCK_MODEL_ID (us.anthropic.claude-haiku-4-5-20251001-v1:0)
 *   EMBEDDING_PROVIDER    offline | bedrock (default: bedrock when AWS keys are set, else offline)
 *   BEDROCK_EMBEDDING_MODEL_ID (amazon.titan-embed-text-v2:0), EMBEDDING_DIMENSION (768)
 *   LLM_RPM (50), LLM_TPM (200000), LLM_PRICE_INPUT_PER_MTOK (1), LLM_PRICE_OUTPUT_PER_MTOK (5),
 *   EMBEDDING_PRICE_PER_MTOK (0.02)
 */
import type { ProviderConfig } from "./config.ts";
import type { Db } from "./db.ts";
import { type Embedder, OfflineEmbedder, TitanEmbedder } from "./embedder.ts";
import { AnthropicProvider } from "./llm/anthropic.ts";
import { BedrockProvider } from "./llm/bedrock.ts";
import { OfflineProvider } from "./llm/offline.ts";
import type { LlmProvider } from "./llm/types.ts";
import { PostgresRateLimiter, type RateLimiter, unlimited } from "./ratelimit.ts";

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
