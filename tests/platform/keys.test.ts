// The project's API keys in both generations: the service check of stage functions, the
// gateway's verify_jwt, user-JWT verification against the JWKS, and the secret kicks carry.
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createUserVerifier } from "../../shared/adapters/auth.ts";
import { loadPlatformConfig, loadUserAccessConfig } from "../../shared/adapters/config.ts";
import { createDb } from "../../shared/adapters/db.ts";
import { PostgresTaskStore } from "../../shared/adapters/tasks.ts";
import { handle as selftest } from "../../supabase/functions/selftest/handler.ts";
import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, projectKeys, signJwt } from "../../platform/jwt.ts";
import { adminDb, anonJwt, API_URL, createUser, DB_URL, first, keyMode, keys } from "../_support/platform.ts";

const kick = (headers: HeadersInit) =>
  new Request("http://localhost/selftest", {
    method: "POST",
    headers,
    // A stage selftest does not run: once past the service check, a 400 that touches nothing.
    body: JSON.stringify({ stage: "ingest" }),
  });

Deno.test("keys: a stage function accepts the secret key of either generation and refuses anon/publishable keys", async () => {
  const legacy = await projectKeys("legacy");
  const envs = {
    // A project on the new keys: only SUPABASE_SECRET_KEYS.
    new: new Map([
      ["SUPABASE_URL", API_URL],
      ["SUPABASE_DB_URL", DB_URL],
      ["SUPABASE_SECRET_KEYS", JSON.stringify({ default: LOCAL_SECRET_KEY })],
    ]),
    // A project on legacy keys only: the service_role JWT.
    legacy: new Map([
      ["SUPABASE_URL", API_URL],
      ["SUPABASE_DB_URL", DB_URL],
      ["SUPABASE_SERVICE_ROLE_KEY", legacy.service_role_key],
    ]),
  };
  const db = createDb({ dbUrl: DB_URL }, 2);
  try {
    for (const [gen, env] of Object.entries(envs)) {
      const deps = { db, tasks: new PostgresTaskStore(db), serviceKeys: loadPlatformConfig(env).serviceKeys };
      const secret = gen === "new" ? LOCAL_SECRET_KEY : legacy.service_role_key;
      for (const headers of [{ authorization: `Bearer ${secret}` }, { apikey: secret }] as Record<string, string>[]) {
        const res = await selftest(kick(headers), deps);
        assert.equal(res.status, 400, `${gen}: ${Object.keys(headers)[0]}`);
        assert.match((await res.json()).message, /does not run stage ingest/);
      }
      const refused = [
        LOCAL_PUBLISHABLE_KEY,
        legacy.anon_key,
        gen === "new" ? legacy.service_role_key : LOCAL_SECRET_KEY,
      ];
      for (const key of refused) {
        for (const headers of [{ authorization: `Bearer ${key}` }, { apikey: key }] as Record<string, string>[]) {
          const res = await selftest(kick(headers), deps);
          assert.equal(res.status, 401, `${gen}: ${key.slice(0, 16)}`);
          assert.equal((await res.json()).code, "AUTH_INVALID");
        }
      }
    }
  } finally {
    await db.end();
  }
});

Deno.test("keys: through the gateway, the platform's secret key passes a stage function's check, the anon/publishable key does not", async () => {
  const post = (auth: string) =>
    fetch(`${API_URL}/functions/v1/selftest`, {
      method: "POST",
      headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" },
      body: JSON.stringify({ stage: "ingest" }),
    });
  let res = await post(keys.service_role_key);
  assert.equal(res.status, 400);
  assert.match((await res.json()).message, /does not run stage ingest/);
  for (const key of [keys.anon_key, anonJwt, "sb_secret_not-this-projects-key"]) {
    res = await post(key);
    assert.equal(res.status, 401, key.slice(0, 16));
    assert.equal((await res.json()).code, "AUTH_INVALID");
  }
});

Deno.test("keys: Vault's service_role_key, which every pg_net kick sends, is the platform's secret key", async () => {
  const sql = adminDb(1);
  try {
    const { key } = first(await sql`select util.service_role_key() as key`);
    assert.equal(key, keys.service_role_key);
    assert.equal(String(key).startsWith("sb_secret_"), keyMode === "new");
  } finally {
    await sql.end();
  }
});

Deno.test({
  name: "keys (new): user JWTs are ES256, verified against the published JWKS by the gateway and the function",
  ignore: keyMode !== "new",
  fn: async () => {
    const jwks = await (await fetch(`${API_URL}/auth/v1/.well-known/jwks.json`)).json();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].alg, "ES256");
    assert.ok(!("d" in jwks.keys[0]), "the JWKS publishes the public key only");

    const sql = adminDb(1);
    try {
      const user = await createUser(sql, "keys");
      const header = JSON.parse(atob(user.token.split(".")[0]!.replaceAll("-", "+").replaceAll("_", "/")));
      assert.equal(header.alg, "ES256");
      assert.equal(header.kid, jwks.keys[0].kid);

      // The function's verifier with no inline JWKS fetches the platform's endpoint.
      const verifier = createUserVerifier(loadUserAccessConfig(new Map([["SUPABASE_URL", API_URL]])));
      const req = (token: string) => new Request("http://local/", { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await verifier.verify(req(user.token))).id, user.id);
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: user.id, aud: "authenticated", role: "authenticated", iat: now, exp: now + 600 };
      const foreign = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: header.kid })
        .sign(foreign.privateKey);
      const hs256 = await signJwt(claims); // the legacy secret: not this project's signer any more
      for (const token of [forged, hs256]) {
        await assert.rejects(verifier.verify(req(token)), (e: Error & { code?: string }) => e.code === "AUTH_INVALID");
      }

      // The gateway's verify_jwt (query keeps it on).
      const query = (headers: Record<string, string>) =>
        fetch(`${API_URL}/functions/v1/query`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ message: "hello there", stream: false }),
        });
      let res = await query({ authorization: `Bearer ${user.token}`, apikey: keys.anon_key });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const refusedByGateway: [string, Record<string, string>, string][] = [
        ["forged ES256", { authorization: `Bearer ${forged}` }, "Invalid JWT"],
        ["legacy HS256", { authorization: `Bearer ${hs256}` }, "Invalid JWT"],
        ["publishable key as bearer", { authorization: `Bearer ${keys.anon_key}` }, "Invalid JWT"],
        ["unknown apikey", { apikey: "sb_publishable_not-this-projects-key" }, "Invalid API key"],
        ["nothing", {}, "Invalid JWT"],
      ];
      for (const [why, headers, message] of refusedByGateway) {
        res = await query(headers);
        assert.equal(res.status, 401, why);
        assert.deepEqual(await res.json(), { code: 401, message }, why);
      }
      // The publishable key in `apikey` alone passes the gateway; the function still wants a user.
      res = await query({ apikey: keys.anon_key });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).code, "AUTH_MISSING");
    } finally {
      await sql.end();
    }
  },
});
