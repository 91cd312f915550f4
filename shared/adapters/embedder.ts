/**
 * Embedders: Titan Text Embeddings v2 on Bedrock, or the offline feature-hashing embedder, at
 * the same dimension (768 by default; the schema's vector column is the source of truth).
 */
import { hashEmbedding } from "../processors/hash-embedding.ts";
import { embeddingCostUsd, estimateTokens, type Prices } from "../processors/pricing.ts";
import { bedrockInvoker } from "./llm/bedrock.ts";
import { withRetries } from "./llm/retry.ts";
import type { RateLimiter } from "./ratelimit.ts";

export interface Embedding {
  vectors: number[][];
  tokens: number;
  costUsd: number;
  calls: number;
}

export interface Embedder {
  readonly name: string;
  readonly model: string;
  /**
   * Chunks per embed task: as many as one invocation embeds well inside its limits. Each task
   * also costs the database a claim and a completion, so an embedder that is quick per text
   * takes more of them at a time.
   */
  readonly batchSize: number;
  readonly dimension: number;
  embed(texts: string[], deadline?: number): Promise<Embedding>;
}

export class OfflineEmbedder implements Embedder {
  readonly name = "offline";
  readonly model = "offline-hash-1";
  /** ~0.3 ms of CPU a chunk: 512 take ~0.15 s. */
  readonly batchSize = 512;
  constructor(readonly dimension = 768) {}
  embed(texts: string[]): Promise<Embedding> {
    return Promise.resolve({
      vectors: texts.map((t) => hashEmbedding(t, this.dimension)),
      tokens: texts.reduce((a, t) => a + estimateTokens(t.length), 0),
      costUsd: 0,
      calls: 0,
    });
  }
}

export interface TitanOptions {
  region: string;
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  model: string;
  dimension: number;
  prices: Prices;
  limiter: RateLimiter;
}

export class TitanEmbedder implements Embedder {
  readonly name = "bedrock";
  /** One call per text, one after another: 64 calls of ~0.1 s stay far inside the task's deadline. */
  readonly batchSize = 64;
  readonly model: string;
  readonly dimension: number;
  private invoke;
  constructor(private o: TitanOptions) {
    this.model = o.model;
    this.dimension = o.dimension;
    this.invoke = bedrockInvoker(o);
  }

  async embed(texts: string[], deadline = Date.now() + 60_000): Promise<Embedding> {
    const vectors: number[][] = [];
    let tokens = 0, calls = 0;
    for (const inputText of texts) { // Titan v2 takes one text per call
      const estimated = estimateTokens(inputText.length);
      const body = JSON.stringify({ inputText, dimensions: this.dimension, normalize: true });
      type Answer = { embedding: number[]; inputTextTokenCount?: number };
      const { value: out, calls: c } = await withRetries(() => this.invoke<Answer>(this.model, body), {
        limiter: this.o.limiter,
        key: `bedrock:${this.model}`,
        estimatedTokens: estimated,
        usedTokens: (o) => o.inputTextTokenCount ?? estimated,
        deadline,
      });
      if (out.embedding.length !== this.dimension) {
        throw new Error(`embedding has ${out.embedding.length} dimensions, expected ${this.dimension}`);
      }
      vectors.push(out.embedding);
      tokens += out.inputTextTokenCount ?? estimated;
      calls += c;
    }
    return { vectors, tokens, costUsd: embeddingCostUsd(this.o.prices, tokens), calls };
  }
}
