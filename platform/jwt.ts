/**
 * Local platform (never deployed): HS256 JWTs signed with the local project's JWT secret, the
 * way a local Supabase stack mints its anon and service_role keys and its users' access tokens.
 */

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

/** The project's anon and service_role API keys (long-lived JWTs, as Supabase issues them). */
export async function projectKeys(): Promise<{ anon_key: string; service_role_key: string }> {
  const iat = 1_700_000_000;
  return {
    anon_key: await signJwt({ iss: "supabase-local", role: "anon", iat, exp: iat + TEN_YEARS }),
    service_role_key: await signJwt({ iss: "supabase-local", role: "service_role", iat, exp: iat + TEN_YEARS }),
  };
}

/** An access token for a signed-in user, as Supabase Auth would issue it. */
export async function userToken(userId: string, email?: string, ttlSeconds = 3600): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return await signJwt({
    iss: "supabase-local",
    sub: userId,
    aud: "authenticated",
    role: "authenticated",
    email,
    iat,
    exp: iat + ttlSeconds,
  });
}
