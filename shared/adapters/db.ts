/**
 * Postgres access for functions: postgres.js over SUPABASE_DB_URL. Prepared statements are off
 * because functions go through a transaction pooler (Supavisor hosted, PgBouncer on the local
 * platform), where consecutive statements may run on different server connections. Functions need real transactions
 * (claim, complete, fan-in), which is why this is not PostgREST.
 */
import postgres from "postgres";
import type { PlatformConfig } from "./config.ts";

export type Db = postgres.Sql;

/** A connection pool or a transaction: reads work on either; the stages write in their task's transaction. */
export type Conn = Db | postgres.TransactionSql;

/** One small pool per function worker; `max` stays low because workers are many. */
export function createDb(config: Pick<PlatformConfig, "dbUrl">, max = 3): Db {
  return postgres(config.dbUrl, {
    max,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "soulprint-function" },
  });
}
