// The whole chain: SQL insert -> trigger -> pg_net (stand-in) -> gateway -> health function ->
// the function's own database client -> row stamped. Measured over 20 round trips.
import assert from "node:assert/strict";
import { adminDb, API_URL, first, median, waitFor } from "../_support/platform.ts";

Deno.test("health round trip: SQL -> pg_net -> function -> SQL (median of 20)", async () => {
  const sql = adminDb();
  try {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { id } = first(await sql`insert into private.health_checks default values returning id`);
      const row = await waitFor(
        async () => {
          const [r] =
            await sql`select responded_at, responder, extract(epoch from responded_at - requested_at) * 1000 as ms
                               from private.health_checks where id = ${id} and responded_at is not null`;
          return r;
        },
        15_000,
        5,
      );
      assert.equal(row.responder, "health");
      times.push(Number(row.ms));
    }
    const resp = first(
      await sql`select count(*)::int as n from net._http_response r
                             where r.status_code = 200 and r.content like '{"ping_id"%'`,
    );
    assert.ok(resp.n >= 20, "each kick recorded its response like pg_net");
    console.log(
      `health round trip: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (n=20)`,
    );
  } finally {
    await sql.end();
  }
});

Deno.test("health GET answers with the database check; bad callers get coded errors", async () => {
  const ok = await fetch(`${API_URL}/functions/v1/health`);
  const body = await ok.json();
  assert.equal(ok.status, 200);
  assert.equal(body.status, "ok");
  assert.equal(body.checks.database.ok, true);

  const noAuth = await fetch(`${API_URL}/functions/v1/health`, { method: "POST", body: "{}" });
  assert.equal(noAuth.status, 401);
  assert.equal((await noAuth.json()).code, "AUTH_MISSING");

  const wrong = await fetch(`${API_URL}/functions/v1/health`, {
    method: "POST",
    headers: { authorization: "Bearer not-the-secret" },
    body: JSON.stringify({ ping_id: 1 }),
  });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).code, "AUTH_INVALID");
});
