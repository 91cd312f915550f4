/**
 * Request capture (LLM_CAPTURE_FILE): wraps any provider and appends each request (system,
 * messages, model, max_tokens) with its reply, or its error, as one JSON line with `stage` and
 * `job_id` at the top level. For measuring what reaches the model (bench:evidence); it writes
 * the person's data in clear, so it is off unless configured and never meant for production.
 */
import { normalizeError } from "../../processors/errors.ts";
import type { LlmProvider, LlmRequest, LlmResult } from "./types.ts";

export class CapturingProvider implements LlmProvider {
  constructor(private inner: LlmProvider, private file: string) {}

  get name() {
    return this.inner.name;
  }
  get model() {
    return this.inner.model;
  }

  async complete(req: LlmRequest): Promise<LlmResult> {
    const line = {
      ts: new Date().toISOString(),
      stage: req.tag?.stage ?? req.purpose ?? null,
      job_id: req.tag?.jobId ?? null,
      provider: this.inner.name,
      model: this.inner.model,
      purpose: req.purpose ?? null,
      max_tokens: req.maxTokens ?? 2048,
      system: req.system,
      messages: req.messages,
    };
    try {
      const res = await this.inner.complete(req);
      await this.write({ ...line, reply: res.text, usage: res.usage });
      return res;
    } catch (err) {
      const e = normalizeError(err);
      await this.write({ ...line, error: { code: e.code, message: e.message } });
      throw err;
    }
  }

  /** One line per call: a single append of the whole line, so concurrent workers don't interleave. */
  private async write(entry: Record<string, unknown>) {
    await Deno.writeTextFile(this.file, JSON.stringify(entry) + "\n", { append: true, create: true });
  }
}

/** `inner` itself when no capture file is configured. */
export function withCapture(inner: LlmProvider, file: string | null): LlmProvider {
  return file ? new CapturingProvider(inner, file) : inner;
}
