/**
 * Per-user request limits for the user-facing functions: one token bucket per (user, function)
 * in Postgres (private.user_rate_take), so every worker and instance shares it. A user who
 * empties theirs gets 429 RATE_LIMITED with Retry-After; other users are untouched.
 */
import { PipelineError } from "../processors/errors.ts";
import type { Db } from "./db.ts";

export interface UserLimiter {
  /**
   * Takes one request from the user's bucket for `fn`.
   * @throws PipelineError RATE_LIMITED (429, `retryAfterS` set) when the bucket is empty;
   *   AUTH_INVALID when the user no longer exists.
   */
  take(userId: string, fn: "query" | "chat"): Promise<void>;
}

export class PostgresUserLimiter implements UserLimiter {
  /** `burst` requests at most in a row, refilled at `perMinute` per minute. */
  constructor(private db: Db, private limits: { burst: number; perMinute: number }) {}

  async take(userId: string, fn: "query" | "chat"): Promise<void> {
    let waitMs: number;
    try {
      const [row] = await this.db`select private.user_rate_take(${userId}::uuid, ${fn}, ${this.limits.burst},
        ${this.limits.perMinute}) as wait_ms`;
      waitMs = Number(row!.wait_ms);
    } catch (err) {
      // 23503: the bucket's foreign key — a still-unexpired token of a deleted user.
      if ((err as { code?: string }).code === "23503") {
        throw new PipelineError("AUTH_INVALID", "this user no longer exists", { cause: err });
      }
      throw err;
    }
    if (waitMs > 0) {
      const s = Math.ceil(waitMs / 1000);
      throw new PipelineError("RATE_LIMITED", `too many ${fn} requests; try again in ${s} s`, { retryAfterS: s });
    }
  }
}
