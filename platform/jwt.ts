/**
 * Local platform (never deployed): the local project's keys in either generation. Legacy: HS256
 * JWTs signed with the project's JWT secret (anon and service_role keys, users' access tokens).
 * New: opaque `sb_publishable_`/`sb_secret_` API keys and users' access tokens signed ES256 with
 * an asymmetric key whose public half is published as a JWKS.
 */
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";

/** The well-known secret of local Supabase stacks; it protects nothing outside this machine. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - s.length % 4) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** Signs `claims` as an HS256 JWT. */
export async function signJwt(claims: Record<string, unknown>, secret = LOCAL_JWT_SECRET): Promise<string> {
  const head = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), enc.encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
}

/** Verifies an HS256 JWT (signature and `exp`); returns its claims, or null when invalid. */
export async function verifyJwt(
  token: string,
  secret = LOCAL_JWT_SECRET,
  nowSeconds = Date.now() / 1000,
): Promise<Record<string, unknown> | null> {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [head, body, sig] = parts as [string, string, string];
  try {
    const ok = await crypto.subtle.verify(
      "HMAC",
      await hmacKey(secret),
      fromB64url(sig),
      enc.encode(`${head}.${body}`),
    );
    if (!ok) return null;
    const header = JSON.parse(new TextDecoder().decode(fromB64url(head)));
    if (header.alg !== "HS256") return null;
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(body)));
    if (typeof claims.exp === "number" && claims.exp < nowSeconds) return null;
    return claims;
  } catch {
    return null; // malformed base64 or JSON is simply an invalid token
  }
}

const TEN_YEARS = 10 * 365 * 24 * 3600;

// --- The two generations of project keys ------------------------------------------------------

/**
 * Which keys the platform hands out (`SOULPRINT_KEYS`):
 *   new     `sb_publishable_…` / `sb_secret_…` API keys (opaque strings, not JWTs) and user JWTs
 *           signed ES256 with an asymmetric key published as JWKS: what a project created on
 *           Supabase today gets, so the default.
 *   legacy  anon / service_role API keys that are HS256 JWTs, user JWTs signed with the same
 *           shared secret: older projects, and the legacy keys a project may keep enabled.
 */
export type KeyMode = "legacy" | "new";

/** The mode named by `SOULPRINT_KEYS` (default `new`). @throws Error on any other value */
export function keyModeFromEnv(value = Deno.env.get("SOULPRINT_KEYS")): KeyMode {
  const v = value || "new";
  if (v !== "legacy" && v !== "new") throw new Error(`SOULPRINT_KEYS must be legacy or new, not ${v}`);
  return v;
}

/** The local project's opaque API keys (well known like LOCAL_JWT_SECRET; local only). */
export const LOCAL_PUBLISHABLE_KEY = "sb_publishable_c29vbHByaW50LWxvY2FsLXB1Ymxp_3kq9Zr";
export const LOCAL_SECRET_KEY = "sb_secret_c29vbHByaW50LWxvY2FsLXNlY3JldA_8fW2xQ";

/** The local project's asymmetric JWT signing key (ES256, P-256); its public half is LOCAL_JWKS. */
const LOCAL_SIGNING_JWK = {
  kty: "EC",
  crv: "P-256",
  x: "XOz65uwrNV9Feh2KDETHdE3e6hHw7SFrPvyh_xbCzec",
  y: "mPbuy-sxwEtGc01UkxzwwQicxDaYho09Atw3vKLceP0",
  d: "dMbrRncoGecW4rpqxBIEQ1WbZOVR0tNYWE7EIQpY2bU",
};
const LOCAL_KID = "soulprint-local-es256";

/** The JWKS Auth publishes at /auth/v1/.well-known/jwks.json (public key only). */
export const LOCAL_JWKS = {
  keys: [{
    kty: "EC",
    crv: "P-256",
    x: LOCAL_SIGNING_JWK.x,
    y: LOCAL_SIGNING_JWK.y,
    kid: LOCAL_KID,
    alg: "ES256",
    use: "sig",
    key_ops: ["verify"],
  }],
};

const jwksGetKey = createLocalJWKSet(LOCAL_JWKS as Parameters<typeof createLocalJWKSet>[0]);
let signingKey: Promise<CryptoKey> | null = null;

/** Signs `claims` as an ES256 JWT with the local asymmetric key (header `kid` names it). */
export async function signEs256(claims: Record<string, unknown>): Promise<string> {
  signingKey ??= importJWK(LOCAL_SIGNING_JWK, "ES256") as Promise<CryptoKey>;
  return await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "JWT", kid: LOCAL_KID })
    .sign(await signingKey);
}

/**
 * Verifies a JWT the way this mode's Auth issues them: HS256 with the shared secret (legacy) or
 * ES256 against LOCAL_JWKS (new). Returns its claims, or null when invalid or expired.
 */
export async function verifyAccessToken(token: string, mode: KeyMode): Promise<Record<string, unknown> | null> {
  if (mode === "legacy") return await verifyJwt(token);
  try {
    return (await jwtVerify(token, jwksGetKey, { algorithms: ["ES256"] })).payload;
  } catch {
    return null; // any failure (signature, expiry, format) is simply an invalid token
  }
}

/** A long-lived JWT for a role (`anon`, `service_role`), signed as this mode's Auth signs. */
export async function roleToken(role: string, mode: KeyMode): Promise<string> {
  const iat = 1_700_000_000;
  const claims = { iss: "supabase-local", role, iat, exp: iat + TEN_YEARS };
  return mode === "legacy" ? await signJwt(claims) : await signEs256(claims);
}

/**
 * The project's API keys: in legacy mode the anon and service_role JWTs, in new mode the
 * publishable and secret keys (same fields: the publishable key stands where the anon key did).
 */
export async function projectKeys(
  mode: KeyMode = keyModeFromEnv(),
): Promise<{ anon_key: string; service_role_key: string }> {
  if (mode === "new") return { anon_key: LOCAL_PUBLISHABLE_KEY, service_role_key: LOCAL_SECRET_KEY };
  return { anon_key: await roleToken("anon", mode), service_role_key: await roleToken("service_role", mode) };
}

/** An access token for a signed-in user, as Supabase Auth would issue it in `mode`. */
export async function userToken(
  userId: string,
  email?: string,
  ttlSeconds = 3600,
  mode: KeyMode = keyModeFromEnv(),
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iss: "supabase-local",
    sub: userId,
    aud: "authenticated",
    role: "authenticated",
    email,
    iat,
    exp: iat + ttlSeconds,
  };
  return mode === "legacy" ? await signJwt(claims) : await signEs256(claims);
}
