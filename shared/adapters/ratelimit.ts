/**
 * Rate limits shared by every invocation: per provider+model, a requests-per-minute and a
 * tokens-per-minute token bucket kept in Postgres (private.rate_acquire), so 50 concurrent
 * workers together stay within the account's quota. A request reserves its estimate (prompt +
 * max_tokens) and settles it once the answer reports its usage (private.rate_settle), so tokens
 * an answer did not use are not held until the bucket refills.
 */
import type { Db } from "./db.ts";

export interface RateLimiter {
  /** Waits until one request of about `tokens` tokens may start, or the deadline passes (false). */
  acquire(key: string, tokens: number, deadline: number): Promise<boolean>;
  /** After a request reserved `reserved` tokens and its answer reported `used`: settles the difference. */
  settle(key: string, reserved: number, used: number): Promise<void>;
}

export interface RateLimits {
  rpm: number;
  tpm: number;
}

export class PostgresRateLimiter implements RateLimiter {
  constructor(private db: Db, private limits: RateLimits) {}

  async acquire(key: string, tokens: number, deadline: number): Promise<boolean> {
    for (;;) {
      const [row] = await this
        .db`select private.rate_acquire(${key}, ${this.limits.rpm}, ${this.limits.tpm}, ${tokens}) as wait_ms`;
      const wait = Number(row!.wait_ms);
      if (wait <= 0) return true;
      if (Date.now() + wait > deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(wait, 5000)));
    }
  }

  async settle(key: string, reserved: number, used: number): Promise<void> {
    await this.db`select private.rate_settle(${key}, ${this.limits.tpm}, ${Math.round(reserved)}, ${Math.round(used)})`;
  }
}

/** No limits (offline provider, unit tests). */
export const unlimited: RateLimiter = { acquire: () => Promise.resolve(true), settle: () => Promise.resolve() };
