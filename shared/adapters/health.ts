/**
 * The database side of the health function: a liveness probe and the answer to a health round
 * trip (SQL -> pg_net -> health -> SQL) that private.health_checks records.
 */
import type { Db } from "./db.ts";

/** Runs a trivial query; resolves with its round trip in milliseconds. @throws when the database does not answer. */
export async function probeDatabase(db: Db): Promise<number> {
  const t0 = performance.now();
  await db`select 1`;
  return Math.round(performance.now() - t0);
}

/**
 * Marks health check `pingId` answered by this function (idempotent: answering again moves the
 * timestamp). Returns false when there is no such check.
 */
export async function answerHealthCheck(db: Db, pingId: number): Promise<boolean> {
  const rows = await db`update private.health_checks set responded_at = clock_timestamp(), responder = 'health'
                         where id = ${pingId} returning id`;
  return rows.length > 0;
}
