/** Cost of model calls. Prices are USD per million tokens. */

export interface Prices {
  /** @default 1 (Claude Haiku 4.5 input) */
  llmInputPerMTok: number;
  /** @default 5 (Claude Haiku 4.5 output) */
  llmOutputPerMTok: number;
  /** @default 0.02 (Titan Text Embeddings v2) */
  embeddingPerMTok: number;
}

export const DEFAULT_PRICES: Prices = { llmInputPerMTok: 1, llmOutputPerMTok: 5, embeddingPerMTok: 0.02 };

export function llmCostUsd(p: Prices, inputTokens: number, outputTokens: number): number {
  return (inputTokens * p.llmInputPerMTok + outputTokens * p.llmOutputPerMTok) / 1e6;
}

export function embeddingCostUsd(p: Prices, tokens: number): number {
  return (tokens * p.embeddingPerMTok) / 1e6;
}

/** Tokens estimated from characters (no tokenizer): about 4 characters per token. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}
