/**
 * Who is calling a user-facing function. The gateway checks the JWT too (verify_jwt), but a
 * function must not trust that alone: a misconfigured route, a direct worker call or a gateway
 * that only checks the format would otherwise let a forged token act as anyone. Here the
 * signature, `exp`, `aud` and `role` are verified with jose against the project's keys: the JWKS
 * (asymmetric signing keys: inline SUPABASE_JWKS, else fetched from Auth and cached) and, when
 * configured, the legacy HS256 secret.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWSHeaderParameters,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { PipelineError } from "../processors/errors.ts";
import type { UserAccessConfig } from "./config.ts";

export interface AuthedUser {
  id: string;
  email?: string;
}

/** Verifies a bearer token and returns its user. */
export interface UserVerifier {
  /** @throws PipelineError AUTH_MISSING / AUTH_INVALID (401) */
  verify(req: Request): Promise<AuthedUser>;
}

/** Signing algorithms Supabase Auth uses for asymmetric keys. */
const ASYMMETRIC = ["ES256", "RS256", "EdDSA"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Caller-facing reasons for jose's failures (each is a 401 AUTH_INVALID). */
function reason(err: unknown): string | null {
  if (err instanceof errors.JWTExpired) return "the access token has expired; sign in again";
  if (err instanceof errors.JWTClaimValidationFailed) {
    return err.claim === "aud"
      ? "the access token is not meant for this project (aud)"
      : `the access token's ${err.claim} claim is not valid`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "the access token's signing algorithm is not accepted";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the access token's signature is not valid";
  if (err instanceof errors.JWKSNoMatchingKey) return "the access token was not signed by this project's keys";
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return "the access token is malformed";
  return null;
}

/**
 * The verifier for `cfg`. `fetchImpl` fetches the remote JWKS (only used when no JWKS is inline
 * and a token is signed with an asymmetric key).
 */
export function createUserVerifier(
  cfg: Pick<UserAccessConfig, "jwks" | "jwksUrl" | "jwtSecret">,
  fetchImpl: typeof fetch = fetch,
): UserVerifier {
  const jwks = cfg.jwks
    ? createLocalJWKSet(cfg.jwks as Parameters<typeof createLocalJWKSet>[0])
    : createRemoteJWKSet(new URL(cfg.jwksUrl), {
      timeoutDuration: 5000,
      [customFetch]: (url, init) => fetchImpl(url, init),
    });
  const secret = cfg.jwtSecret ? new TextEncoder().encode(cfg.jwtSecret) : null;
  const algorithms = secret ? [...ASYMMETRIC, "HS256"] : ASYMMETRIC;
  const getKey: JWTVerifyGetKey = (header: JWSHeaderParameters, token) =>
    header.alg === "HS256" && secret ? secret : jwks(header, token);

  return {
    async verify(req) {
      const token = req.headers.get("authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
      if (!token) throw new PipelineError("AUTH_MISSING", "sign in first: missing bearer token");
      let claims;
      try {
        ({ payload: claims } = await jwtVerify(token, getKey, {
          algorithms,
          audience: "authenticated",
          requiredClaims: ["exp", "sub"],
        }));
      } catch (err) {
        const why = reason(err);
        if (why) throw new PipelineError("AUTH_INVALID", why, { cause: err });
        throw err; // the JWKS could not be fetched: our fault, not the caller's
      }
      if (claims.role !== "authenticated") {
        throw new PipelineError("AUTH_INVALID", "the token is not a signed-in user's token");
      }
      if (typeof claims.sub !== "string" || !UUID.test(claims.sub)) {
        throw new PipelineError("AUTH_INVALID", "the access token names no user (sub)");
      }
      return { id: claims.sub.toLowerCase(), email: typeof claims.email === "string" ? claims.email : undefined };
    },
  };
}
