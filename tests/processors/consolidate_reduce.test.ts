// The consolidate reduce loop (pure; the reducer stands in for the model and is deterministic).
import assert from "node:assert/strict";
import { factTokens } from "../../shared/processors/consolidate.ts";
import { countFacts, reduceFacts } from "../../shared/processors/consolidate-reduce.ts";
import { PipelineError } from "../../shared/processors/errors.ts";
import type { FactSet } from "../../shared/processors/schemas.ts";

const empty = (): FactSet => ({ preferences: [], projects: [], dates: [], beliefs: [], decisions: [] });

/** 3000 preferences of ~10 tokens each (~33k tokens), in 300 groups of 10 near-synonyms. */
const big = (): FactSet => ({
  ...empty(),
  preferences: Array.from({ length: 3000 }, (_, i) => `Likes activity ${i % 300} variant ${Math.floor(i / 300)}`),
});

/** Merges variants the way a model would: one fact per activity. */
const merge = (batch: FactSet) =>
  Promise.resolve({
    ...empty(),
    preferences: [...new Set(batch.preferences.map((p) => p.replace(/ variant \d+$/, "")))],
  });

Deno.test("consolidate reduce: under budget nothing is sent to the model", async () => {
  const small = { ...empty(), preferences: ["Likes tea"] };
  let calls = 0;
  const out = await reduceFacts(small, (b) => (calls++, merge(b)), { budgetTokens: 1000 });
  assert.equal(calls, 0);
  assert.deepEqual(out, { facts: small, depth: 0, batches: 0, degraded: [], fallback: false });
});

Deno.test("consolidate reduce: over budget, batches of 400 per category go to the model and come back within budget", async () => {
  const seen: number[] = [];
  const out = await reduceFacts(big(), (b, cat) => {
    assert.equal(cat, "preferences");
    seen.push(b.preferences.length);
    return merge(b);
  }, { budgetTokens: 5000 });
  assert.deepEqual(seen, [400, 400, 400, 400, 400, 400, 400, 200], "3000 items in batches of 400");
  assert.equal(out.depth, 1);
  assert.equal(out.batches, 8);
  assert.equal(out.fallback, false);
  assert.equal(countFacts(out.facts), 300, "the model's merges, deduplicated across batches");
  assert.ok(factTokens(out.facts) <= 5000);
});

Deno.test("consolidate reduce: an unusable answer (LLM_OUTPUT_INVALID) keeps the batch, is coded, and the breaker stops the rounds", async () => {
  let calls = 0;
  const out = await reduceFacts(big(), () => {
    calls++;
    return Promise.reject(new PipelineError("LLM_OUTPUT_INVALID", "the model returned invalid JSON twice"));
  }, { budgetTokens: 5000 });
  assert.equal(calls, 8, "the first round completes; no second round after 5 failed batches");
  assert.equal(out.depth, 1);
  assert.equal(out.degraded.length, 8);
  assert.deepEqual(out.degraded[0], { category: "preferences", items: 400, code: "LLM_OUTPUT_INVALID" });
  assert.equal(out.fallback, true, "still over budget: the deterministic fallback cut it");
  assert.ok(factTokens(out.facts) <= 5000);
  assert.equal(out.facts.preferences[0], big().preferences[0], "kept facts are the original ones, in order");
});

Deno.test("consolidate reduce: any other failure is not swallowed (the task fails and is retried)", async () => {
  for (
    const err of [
      new PipelineError("PROVIDER_TIMEOUT", "no answer in time"),
      new PipelineError("PROVIDER_RATE_LIMITED", "busy"),
      new TypeError("a bug"),
    ]
  ) {
    await assert.rejects(() => reduceFacts(big(), () => Promise.reject(err), { budgetTokens: 5000 }), err);
  }
});

Deno.test("consolidate reduce: depth is bounded when the model never shrinks the set", async () => {
  let calls = 0;
  const out = await reduceFacts(big(), (b) => (calls++, Promise.resolve(b)), { budgetTokens: 5000, maxDepth: 3 });
  assert.equal(out.depth, 3);
  assert.equal(calls, 24);
  assert.equal(out.fallback, true);
  assert.ok(factTokens(out.facts) <= 5000);
});
