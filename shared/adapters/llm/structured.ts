/**
 * Structured output that never fails silently: strip fences, extract the JSON object, validate
 * with zod; on failure one repair round trip that shows the model its reply and the problem;
 * then a coded error (LLM_OUTPUT_INVALID), never an empty result.
 */
import { PipelineError } from "../../processors/errors.ts";
import { extractJson } from "../../processors/json-extract.ts";
import type { LlmProvider, LlmRequest, LlmResult, Schema } from "./types.ts";

function check<T>(text: string, schema: Schema<T>): { ok: true; value: T } | { ok: false; problem: string } {
  const raw = extractJson(text);
  if (raw === null) return { ok: false, problem: "the reply contains no parseable JSON object" };
  const r = schema.safeParse(raw);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, problem: r.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") };
}

export async function completeJson<T>(
  provider: LlmProvider,
  req: LlmRequest,
  schema: Schema<T>,
): Promise<LlmResult<T>> {
  const first = await provider.complete(req);
  const a = check(first.text, schema);
  if (a.ok) return { ...first, value: a.value };
  const repair = await provider.complete({
    ...req,
    temperature: 0,
    messages: [
      ...req.messages,
      { role: "assistant", content: first.text.slice(0, 20_000) },
      {
        role: "user",
        content: `That reply is not valid: ${a.problem}. Reply with only the corrected JSON object, nothing else.`,
      },
    ],
  });
  const b = check(repair.text, schema);
  const usage = {
    input_tokens: first.usage.input_tokens + repair.usage.input_tokens,
    output_tokens: first.usage.output_tokens + repair.usage.output_tokens,
  };
  const merged = {
    ...repair,
    usage,
    costUsd: first.costUsd + repair.costUsd,
    calls: first.calls + repair.calls,
    latencyMs: first.latencyMs + repair.latencyMs,
  };
  if (b.ok) return { ...merged, value: b.value };
  throw new PipelineError(
    "LLM_OUTPUT_INVALID",
    `the model returned invalid JSON twice (${b.problem}); first 200 chars: ${repair.text.slice(0, 200)}`,
  );
}
