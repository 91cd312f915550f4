// CORS on the user-facing functions over HTTP through the gateway: the browser's preflight, and
// the headers on successes, streams and every kind of error; the origin list from configuration.
import assert from "node:assert/strict";
import { adminDb, anonJwt, API_URL, createUser } from "../_support/platform.ts";
import { loadCorsConfig } from "../../shared/adapters/config.ts";
import { corsHeaders, withCors } from "../../shared/adapters/http.ts";

const ORIGIN = "https://app.example.test";

function assertCors(r: Response, what: string) {
  assert.equal(r.headers.get("access-control-allow-origin"), "*", `${what}: allow-origin`);
  const allowed = (r.headers.get("access-control-allow-headers") ?? "").split(/,\s*/);
  for (const h of ["authorization", "x-client-info", "apikey", "content-type"]) {
    assert.ok(allowed.includes(h), `${what}: allows header ${h}`);
  }
  assert.match(r.headers.get("access-control-allow-methods") ?? "", /POST/, `${what}: allows POST`);
}

Deno.test("query and chat: preflight and CORS headers on every response through the gateway", async () => {
  const sql = adminDb();
  try {
    const user = await createUser(sql, "cors");
    for (const fn of ["query", "chat"]) {
      const url = `${API_URL}/functions/v1/${fn}`;
      let r = await fetch(url, {
        method: "OPTIONS",
        headers: {
          origin: ORIGIN,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, x-client-info, apikey, content-type",
        },
      });
      assert.equal(r.status, 204, `${fn}: preflight needs no JWT`);
      assertCors(r, `${fn} preflight`);
      await r.body?.cancel();

      const post = (token: string, body: string) =>
        fetch(url, {
          method: "POST",
          headers: { origin: ORIGIN, "content-type": "application/json", authorization: `Bearer ${token}` },
          body,
        });
      // The function's own refusal of a token the gateway let through (the anon key is a valid JWT).
      r = await post(anonJwt, JSON.stringify({ message: "hi" }));
      assert.equal(r.status, 401);
      assert.equal((await r.json()).code, "AUTH_INVALID");
      assertCors(r, `${fn} 401`);
      r = await post(user.token, "not json");
      assert.equal(r.status, 400);
      assert.equal((await r.json()).code, "INPUT_INVALID");
      assertCors(r, `${fn} 400`);
      assert.match(r.headers.get("access-control-expose-headers") ?? "", /x-request-id/);
      r = await fetch(url, { headers: { origin: ORIGIN, authorization: `Bearer ${user.token}` } });
      assert.equal(r.status, 400, `${fn}: GET is refused`);
      assertCors(r, `${fn} GET`);
      await r.body?.cancel();
    }
    // A success (no SoulPrint yet: the fallback answer), streamed and not.
    let r = await fetch(`${API_URL}/functions/v1/query`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json", authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ message: "hello", stream: false }),
    });
    assert.equal(r.status, 200);
    assertCors(r, "query 200");
    await r.json();
    r = await fetch(`${API_URL}/functions/v1/query`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json", authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ message: "hello" }),
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/event-stream/);
    assertCors(r, "query stream");
    await r.text();
    await sql`delete from auth.users where id = ${user.id}`;
  } finally {
    await sql.end();
  }
});

Deno.test("CORS_ALLOWED_ORIGINS: listed origins are echoed, others get no allow-origin; bad values refused", async () => {
  const env = (v?: string) => new Map(v === undefined ? [] : [["CORS_ALLOWED_ORIGINS", v]]);
  assert.deepEqual(loadCorsConfig(env()).allowedOrigins, ["*"]);
  const cors = loadCorsConfig(env(` ${ORIGIN}, http://localhost:3000 `));
  assert.deepEqual(cors.allowedOrigins, [ORIGIN, "http://localhost:3000"]);
  for (const bad of ["app.example.test", "https://app.example.test/path", ","]) {
    assert.throws(() => loadCorsConfig(env(bad)), /CORS_ALLOWED_ORIGINS/, bad);
  }

  const req = (origin: string, method = "OPTIONS") => new Request("http://fn/query", { method, headers: { origin } });
  assert.equal(corsHeaders(req(ORIGIN), cors)["access-control-allow-origin"], ORIGIN);
  assert.equal(corsHeaders(req(ORIGIN), cors)["vary"], "Origin");
  assert.equal(corsHeaders(req("https://evil.example"), cors)["access-control-allow-origin"], undefined);

  // The wrapper answers the preflight itself and decorates whatever the handler returns.
  let called = 0;
  const respond = () => {
    called++;
    return Promise.resolve(Response.json({ code: "INPUT_INVALID" }, { status: 400 }));
  };
  const pre = await withCors(req(ORIGIN), cors, respond);
  assert.equal(pre.status, 204);
  assert.equal(called, 0, "the preflight never reaches the handler");
  const err = await withCors(req(ORIGIN, "POST"), cors, respond);
  assert.equal(err.status, 400);
  assert.equal(err.headers.get("access-control-allow-origin"), ORIGIN);
  await err.body?.cancel();
});
