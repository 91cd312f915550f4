/** The import's cost summary in SPEC §3.12's shape, from the job's per-stage cost counters. */
export function importCost(
  perStage: Record<string, Record<string, number>>,
): Record<string, number | Record<string, unknown>> {
  const sum = (k: string) => Object.values(perStage ?? {}).reduce((a, s) => a + Number(s?.[k] ?? 0), 0);
  const llm = Object.entries(perStage ?? {}).filter(([st]) => st !== "embed").reduce(
    (a, [, s]) => a + Number(s?.usd ?? 0),
    0,
  );
  const emb = Number(perStage?.embed?.usd ?? 0);
  return {
    llm_input_tokens: sum("llm_input_tokens"),
    llm_output_tokens: sum("llm_output_tokens"),
    llm_call_count: sum("llm_calls"),
    embedding_input_tokens: sum("embedding_input_tokens"),
    embedding_call_count: sum("embedding_calls"),
    llm_cost_usd: Math.round(llm * 1e6) / 1e6,
    embedding_cost_usd: Math.round(emb * 1e6) / 1e6,
    total_cost_usd: Math.round((llm + emb) * 1e6) / 1e6,
    per_stage: perStage ?? {},
  };
}
