/** Statements that must end inside one invocation, whatever the import's size. */
import type postgres from "postgres";
import type { Conn } from "../db.ts";

/**
 * Runs `fn` in a savepoint (or its own transaction, on a pool) with `statement_timeout` =
 * `timeoutMs` and any other `settings` (e.g. work_mem), restored afterwards. Returns null when a
 * statement ran out of time: the savepoint is rolled back, so nothing of it is kept and the
 * caller's transaction stays usable. Other errors are thrown.
 */
export async function withinTime<T>(
  conn: Conn,
  timeoutMs: number,
  fn: (sql: postgres.TransactionSql) => Promise<T>,
  settings: Record<string, string> = {},
): Promise<T | null> {
  const all = { ...settings, statement_timeout: String(Math.max(1, Math.round(timeoutMs))) };
  const bounded = async (sp: postgres.TransactionSql) => {
    const was: Record<string, string> = {};
    for (const [name, value] of Object.entries(all)) {
      const [r] = await sp`select current_setting(${name}) as was, set_config(${name}, ${value}, true)`;
      was[name] = String(r!.was);
    }
    const out = await fn(sp);
    for (const [name, value] of Object.entries(was)) await sp`select set_config(${name}, ${value}, true)`;
    return out;
  };
  try {
    return "savepoint" in conn
      ? await (conn as postgres.TransactionSql).savepoint(bounded) as T
      : await (conn as postgres.Sql).begin(bounded) as T;
  } catch (err) {
    if ((err as { code?: string }).code === "57014") return null; // query_canceled: the timeout
    throw err;
  }
}
