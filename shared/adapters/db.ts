/**
 * Postgres access for functions: postgres.js over SUPABASE_DB_URL. Prepared statements are off
 * because functions go through a transaction pooler (Supavisor hosted, PgBouncer on the local
 * platform), where consecutive statements may run on different server connections. Functions need real transactions
 * (claim, complete, fan-in), which is why this is not PostgREST.
 */
import net from "node:net";
import postgres from "postgres";
import type { PlatformConfig } from "./config.ts";

export type Db = postgres.Sql;

/** A connection pool or a transaction: reads work on either; the stages write in their task's transaction. */
export type Conn = Db | postgres.TransactionSql;

/** One small pool per function worker; `max` stays low because workers are many. */
export function createDb(config: Pick<PlatformConfig, "dbUrl">, max = 3): Db {
  const options = {
    max,
    prepare: false,
    idle_timeout: 20,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "soulprint-function" },
    // A documented postgres.js option its type definitions leave out (hence no object literal here).
    socket: noDelaySocket,
  };
  return postgres(config.dbUrl, options);
}

/**
 * The client's TCP connection, with Nagle's algorithm off. postgres.js writes a COPY's data and
 * its CopyDone as two writes; with Nagle on, the small second one waited for the server's
 * delayed ACK, ~40 ms per COPY (a slice's writes took three times their CPU in wall time).
 * Given a socket, postgres.js expects it connected; TLS (sslmode=require) is layered on it as
 * on its own socket.
 */
function noDelaySocket(o: { host: string[]; port: number[]; path?: string; connect_timeout?: number }) {
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = o.path ? net.connect(o.path) : net.connect(o.port[0]!, o.host[0]!);
    socket.setNoDelay(true);
    // As postgres.js labels its own socket: TLS takes the server name (SNI) from `host`.
    Object.assign(socket, { host: o.host[0], port: o.port[0] });
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    // postgres.js times the connection only once it has the socket: bound the connect here.
    socket.setTimeout((o.connect_timeout ?? 30) * 1000, () => fail(new Error("CONNECT_TIMEOUT: no TCP connection")));
    socket.once("error", fail);
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.removeListener("error", fail);
      resolve(socket);
    });
  });
}
