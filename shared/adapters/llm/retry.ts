/**
 * Calls a provider through the shared rate limiter and retries what is worth retrying (429,
 * 529, 5xx, timeouts) with capped exponential backoff and jitter, honouring retry-after, until
 * the request's deadline. After that the task fails and the orchestrator retries it later.
 */
import { PipelineError } from "../../processors/errors.ts";
import type { RateLimiter } from "../ratelimit.ts";

export interface ProviderFailure {
  status: number | null;
  retryAfterMs: number | null;
  timeout: boolean;
  message: string;
}

/** What the SDKs throw, reduced to what retrying needs. */
export function describeFailure(err: unknown): ProviderFailure {
  const e = err as Record<string, unknown> & {
    $metadata?: { httpStatusCode?: number };
    $response?: { headers?: Record<string, string> };
  };
  const status = typeof e.status === "number" ? e.status : e.$metadata?.httpStatusCode ?? null;
  const h = e.headers as Headers | Record<string, string> | undefined;
  const ra = h instanceof Headers
    ? h.get("retry-after")
    : (h?.["retry-after"] ?? e.$response?.headers?.["retry-after"] ?? null);
  const name = String(e.name ?? "");
  return {
    status,
    retryAfterMs: ra && Number.isFinite(Number(ra)) ? Number(ra) * 1000 : null,
    timeout: /timeout/i.test(name) || /timed? ?out/i.test(String(e.message ?? "")),
    message: String(e.message ?? err).slice(0, 300),
  };
}

const RETRIABLE = new Set([408, 409, 429, 500, 502, 503, 504, 529]);

export interface RetryOptions<T = unknown> {
  limiter: RateLimiter;
  key: string;
  estimatedTokens: number;
  /** Tokens the answer reports it used; the reservation is then settled (given back or topped up). */
  usedTokens?: (value: T) => number;
  deadline: number;
  /** @default 1000 */
  baseMs?: number;
  /** @default 20000 */
  capMs?: number;
}

export async function withRetries<T>(call: () => Promise<T>, o: RetryOptions<T>): Promise<{ value: T; calls: number }> {
  const base = o.baseMs ?? 1000, cap = o.capMs ?? 20_000;
  let last: ProviderFailure | null = null;
  for (let attempt = 0;; attempt++) {
    if (!(await o.limiter.acquire(o.key, o.estimatedTokens, o.deadline))) {
      throw new PipelineError(
        "PROVIDER_RATE_LIMITED",
        `rate limit for ${o.key} leaves no room before the task's deadline`,
      );
    }
    let value: T;
    try {
      value = await call();
    } catch (err) {
      last = describeFailure(err);
      const retriable = last.timeout || last.status === null || RETRIABLE.has(last.status);
      if (!retriable) {
        throw new PipelineError("PROVIDER_ERROR", `provider refused the request (${last.status}): ${last.message}`, {
          cause: err,
          retriable: false,
        });
      }
      const backoff = Math.min(cap, base * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      const wait = Math.max(last.retryAfterMs ?? 0, backoff);
      if (Date.now() + wait > o.deadline) {
        const code = last.status === 429
          ? "PROVIDER_RATE_LIMITED"
          : last.timeout
          ? "PROVIDER_TIMEOUT"
          : "PROVIDER_ERROR";
        throw new PipelineError(
          code,
          `gave up after ${attempt + 1} attempts: ${last.status ?? ""} ${last.message}`.trim(),
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    // A failed attempt keeps its reservation (the provider may have done the work).
    if (o.usedTokens) await o.limiter.settle(o.key, o.estimatedTokens, o.usedTokens(value));
    return { value, calls: attempt + 1 };
  }
}
