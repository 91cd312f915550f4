// Functions reach Postgres through the local transaction pooler (PgBouncer), as they reach
// Supavisor in production: a function's queries arrive as pooler clients, and the pooler runs
// in transaction mode.
import assert from "node:assert/strict";
import postgres from "postgres";
import { anonJwt, API_URL, waitFor } from "../_support/platform.ts";

const POOLER_PORT = Number(
  Deno.env.get("SOULPRINT_POOLER_PORT") ?? Number(Deno.env.get("SOULPRINT_DB_PORT") ?? 54322) + 7,
);

Deno.test("pooler: functions connect through PgBouncer in transaction mode", async () => {
  // The admin console of the pooler (simple protocol only).
  const admin = postgres({
    host: "127.0.0.1",
    port: POOLER_PORT,
    user: "postgres",
    password: "postgres",
    database: "pgbouncer",
    max: 1,
    prepare: false,
    fetch_types: false,
    onnotice: () => {},
  });
  try {
    const [mode] = await admin.unsafe("show config").then((rows) =>
      rows.filter((r) => r.key === "pool_mode").map((r) => r.value)
    );
    assert.equal(mode, "transaction");
    const res = await fetch(`${API_URL}/functions/v1/health`, {
      headers: { authorization: `Bearer ${anonJwt}` },
    });
    assert.equal(res.status, 200, "health's database check passes through the pooler");
    assert.equal((await res.json()).checks.database.ok, true);
    const client = await waitFor(
      async () => {
        const clients = await admin.unsafe("show clients");
        return clients.find((c) => c.application_name === "soulprint-function") ?? null;
      },
      5_000,
      100,
    );
    assert.equal(client.database, "postgres");
  } finally {
    await admin.end();
  }
});
