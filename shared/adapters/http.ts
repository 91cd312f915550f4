/**
 * HTTP helpers shared by every handler: caller authentication and coded error responses.
 */
import { normalizeError, PipelineError } from "../processors/errors.ts";

/** Constant-time string comparison, so a wrong secret's timing reveals nothing. */
function safeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

/**
 * Requires the service secret as bearer token (the database's kicks and ops tools send it).
 * @throws PipelineError AUTH_MISSING / AUTH_INVALID
 */
export function requireServiceCaller(req: Request, serviceKeys: readonly string[]): void {
  const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) throw new PipelineError("AUTH_MISSING", "missing bearer token");
  if (!serviceKeys.some((k) => safeEqual(k, token))) throw new PipelineError("AUTH_INVALID", "invalid service secret");
}

/**
 * The signed-in user of a request. The signature was checked by the platform's gateway before
 * the function ran (verify_jwt = true in config.toml); here the claims are read and checked.
 * @throws PipelineError AUTH_MISSING / AUTH_INVALID
 */
export function requireUser(req: Request, nowSeconds = Date.now() / 1000): { id: string; email?: string } {
  const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  if (!token) throw new PipelineError("AUTH_MISSING", "sign in first: missing bearer token");
  try {
    const body = token.split(".")[1]!;
    const claims = JSON.parse(
      atob(body.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - body.length % 4) % 4)),
    );
    if (claims.role !== "authenticated" || typeof claims.sub !== "string" || (claims.exp && claims.exp < nowSeconds)) {
      throw new Error();
    }
    return { id: claims.sub, email: claims.email };
  } catch {
    throw new PipelineError("AUTH_INVALID", "the token is not a signed-in user's token");
  }
}

/** A JSON error body `{code, message, retriable}` with the code's status. */
export function errorResponse(err: unknown): Response {
  const e = normalizeError(err);
  if (e.status >= 500) console.error(JSON.stringify({ event: "request.failed", code: e.code, message: e.message }));
  return Response.json(e.toJSON(), { status: e.status });
}

/**
 * Parses a JSON body.
 * @throws PipelineError INPUT_INVALID when the body is not JSON.
 */
export async function readJson(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new PipelineError("INPUT_INVALID", "request body must be JSON");
  }
}
