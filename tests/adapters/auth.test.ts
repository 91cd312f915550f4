// User JWT verification with jose: inline JWKS, remote JWKS (served locally), the legacy HS256
// secret, and the configuration that selects them.
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createUserVerifier } from "../../shared/adapters/auth.ts";
import { loadUserAccessConfig } from "../../shared/adapters/config.ts";

const USER = "6f1c2f0e-2a4b-4c1d-9e8f-0a1b2c3d4e5f";
const req = (token: string) => new Request("http://x/", { headers: { authorization: `Bearer ${token}` } });

async function es256() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: crypto.randomUUID(), alg: "ES256", use: "sig" };
  const sign = (claims: Record<string, unknown>, exp = "1h") =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: jwk.kid }).setIssuedAt().setExpirationTime(exp).sign(
      privateKey,
    );
  return { jwk, sign };
}

const userClaims = { sub: USER, aud: "authenticated", role: "authenticated", email: "a@example.test" };

Deno.test("auth: asymmetric tokens against an inline JWKS (SUPABASE_JWKS)", async () => {
  const key = await es256();
  const other = await es256();
  const cfg = loadUserAccessConfig(
    new Map([["SUPABASE_URL", "http://127.0.0.1:9"], ["SUPABASE_JWKS", JSON.stringify({ keys: [key.jwk] })]]),
  );
  assert.equal(cfg.jwtSecret, null);
  const v = createUserVerifier(cfg);
  assert.deepEqual(await v.verify(req(await key.sign(userClaims))), { id: USER, email: "a@example.test" });
  const refused: [string, string, RegExp][] = [
    ["another key", await other.sign(userClaims), /not signed by this project's keys/],
    ["expired", await key.sign(userClaims, "-1m"), /expired/],
    ["wrong aud", await key.sign({ ...userClaims, aud: "x" }), /\(aud\)/],
    ["anon role", await key.sign({ ...userClaims, role: "anon" }), /not a signed-in user's token/],
    ["no uuid sub", await key.sign({ ...userClaims, sub: "admin" }), /names no user/],
    [
      "HS256 without a configured secret",
      await new SignJWT(userClaims).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(
        new TextEncoder().encode("x".repeat(32)),
      ),
      /algorithm is not accepted/,
    ],
    ["garbage", "a.b.c", /malformed/],
  ];
  for (const [why, token, message] of refused) {
    await assert.rejects(v.verify(req(token)), { code: "AUTH_INVALID", message }, why);
  }
  await assert.rejects(v.verify(new Request("http://x/")), { code: "AUTH_MISSING" });
});

Deno.test("auth: without SUPABASE_JWKS the keys are fetched from Auth's JWKS endpoint and cached", async () => {
  const key = await es256();
  let fetches = 0;
  const auth = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
    fetches++;
    assert.equal(new URL(r.url).pathname, "/auth/v1/.well-known/jwks.json");
    return Response.json({ keys: [key.jwk] });
  });
  try {
    const cfg = loadUserAccessConfig(new Map([["SUPABASE_URL", `http://127.0.0.1:${auth.addr.port}/`]]));
    assert.equal(cfg.jwksUrl, `http://127.0.0.1:${auth.addr.port}/auth/v1/.well-known/jwks.json`);
    const v = createUserVerifier(cfg);
    for (let i = 0; i < 3; i++) assert.equal((await v.verify(req(await key.sign(userClaims)))).id, USER);
    assert.equal(fetches, 1, "fetched once, then cached");
  } finally {
    await auth.shutdown();
  }
});

Deno.test("auth: the legacy HS256 secret alongside the JWKS; the public key can't be used as an HMAC secret", async () => {
  const secret = "legacy-secret-with-at-least-32-characters!";
  const key = await es256();
  const v = createUserVerifier(
    loadUserAccessConfig(
      new Map([["SUPABASE_URL", "http://127.0.0.1:9"], ["SUPABASE_JWKS", JSON.stringify([key.jwk])], [
        "SUPABASE_JWT_SECRET",
        secret,
      ]]),
    ),
  );
  const hs = (s: string) =>
    new SignJWT(userClaims).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(
      new TextEncoder().encode(s),
    );
  assert.equal((await v.verify(req(await hs(secret)))).id, USER);
  assert.equal((await v.verify(req(await key.sign(userClaims)))).id, USER);
  await assert.rejects(v.verify(req(await hs(JSON.stringify(key.jwk)))), { code: "AUTH_INVALID" });
});

Deno.test("config: user access settings are validated and defaulted", () => {
  const base: [string, string][] = [["SUPABASE_URL", "http://127.0.0.1:1"]];
  const cfg = loadUserAccessConfig(new Map(base));
  assert.deepEqual(cfg.userRate, { burst: 20, perMinute: 10 });
  assert.equal(cfg.jwks, null);
  assert.deepEqual(
    loadUserAccessConfig(new Map([...base, ["USER_RATE_BURST", "5"], ["USER_RATE_PER_MINUTE", "2"]])).userRate,
    { burst: 5, perMinute: 2 },
  );
  assert.throws(
    () =>
      loadUserAccessConfig(
        new Map([...base, ["SUPABASE_JWKS", "{nope"], ["USER_RATE_BURST", "0"], ["SUPABASE_JWT_SECRET", "short"]]),
      ),
    (e: Error & { code?: string }) =>
      e.code === "CONFIG_INVALID" && /SUPABASE_JWKS/.test(e.message) && /USER_RATE_BURST/.test(e.message) &&
      /SUPABASE_JWT_SECRET/.test(e.message),
  );
});
