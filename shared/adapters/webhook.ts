/**
 * The completion webhook: Standard Webhooks signing (the `standardwebhooks` library), one
 * delivery attempt with the rules a webhook sender needs (no redirects, a timeout, the response
 * body discarded), and the Postgres outbox (private.webhook_deliveries) the notify function
 * drains. Retries and backoff live in the database (private.record_webhook_attempt), so an
 * attempt here is always exactly one request.
 */
import { Webhook } from "standardwebhooks";
import type { Db } from "./db.ts";

/** Why an attempt failed; stored with the attempt and on the delivery. */
export type AttemptErrorCode =
  | "WEBHOOK_HTTP_STATUS"
  | "WEBHOOK_REDIRECT"
  | "WEBHOOK_TIMEOUT"
  | "WEBHOOK_NETWORK"
  | "WEBHOOK_NOT_CONFIGURED";

export interface AttemptOutcome {
  delivered: boolean;
  /** The receiver's HTTP status, or null when no response came. */
  status: number | null;
  code: AttemptErrorCode | null;
  error: string | null;
  durationMs: number;
}

/**
 * The Standard Webhooks headers for one attempt: `webhook-id`, `webhook-timestamp` (seconds)
 * and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`).
 * @param secret `whsec_<base64>` (checked by config.ts).
 */
export function signedHeaders(secret: string, id: string, body: string, at: Date): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, at, body),
  };
}

export interface SendOptions {
  url: string;
  secret: string;
  /** The message id, the same on every attempt (receivers dedupe on it). */
  id: string;
  /** The exact JSON text that is signed and sent. */
  body: string;
  /** @default 10000 */
  timeoutMs?: number;
  /** Clock for the timestamp; injectable for tests. @default () => new Date() */
  now?: () => Date;
}

/**
 * One signed POST. Only a 2xx counts as delivered; a redirect is not followed (it could point
 * the signed payload anywhere) and counts as a failed attempt, like any other status, a timeout
 * or a network error. The response body is never read.
 */
export async function sendWebhook(opts: SendOptions): Promise<AttemptOutcome> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(opts.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...signedHeaders(opts.secret, opts.id, opts.body, (opts.now ?? (() => new Date()))()),
      },
      body: opts.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (res.ok) return { delivered: true, status: res.status, code: null, error: null, durationMs: took() };
    const redirect = res.status >= 300 && res.status < 400;
    return {
      delivered: false,
      status: res.status,
      code: redirect ? "WEBHOOK_REDIRECT" : "WEBHOOK_HTTP_STATUS",
      error: redirect
        ? `HTTP ${res.status}: redirects are not followed (location: ${res.headers.get("location") ?? "none"})`
        : `HTTP ${res.status}`,
      durationMs: took(),
    };
  } catch (err) {
    const timedOut = err instanceof DOMException && err.name === "TimeoutError";
    return {
      delivered: false,
      status: null,
      code: timedOut ? "WEBHOOK_TIMEOUT" : "WEBHOOK_NETWORK",
      error: timedOut ? `no response within ${timeoutMs} ms` : String(err).slice(0, 500),
      durationMs: took(),
    };
  }
}

/** A claimed delivery: the notify function owns it until it records the attempt. */
export interface Delivery {
  id: number;
  job_id: string;
  webhook_id: string;
  payload: unknown;
  /** This attempt's number (1-based). */
  attempts: number;
  lease_token: string;
}

/** The outbox, behind the two calls the notify function makes. */
export interface WebhookOutbox {
  /** Claims up to `limit` due deliveries; `hintIds` (from the kick) first. */
  claim(hintIds: number[] | null, limit: number): Promise<Delivery[]>;
  /** Logs the attempt and settles the delivery; returns 'delivered' | 'pending' | 'given_up' | 'ignored'. */
  record(d: Delivery, url: string | null, o: AttemptOutcome): Promise<string>;
}

export class PostgresWebhookOutbox implements WebhookOutbox {
  constructor(private db: Db) {}

  async claim(hintIds: number[] | null, limit: number): Promise<Delivery[]> {
    const rows = await this.db`
      select id, job_id, webhook_id, payload, attempts, lease_token
        from private.claim_webhook_deliveries(${hintIds}::bigint[], ${limit})`;
    return rows.map((r) => ({ ...r, id: Number(r.id) }) as Delivery);
  }

  async record(d: Delivery, url: string | null, o: AttemptOutcome): Promise<string> {
    const [row] = await this.db`
      select private.record_webhook_attempt(${d.id}, ${d.lease_token}::uuid, ${url}, ${o.delivered}, ${o.status},
        ${o.code}, ${o.error}, ${o.durationMs}) as state`;
    return row!.state as string;
  }
}
