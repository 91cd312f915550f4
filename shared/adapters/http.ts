/**
 * HTTP helpers shared by every handler: service-caller authentication and coded error responses
 * (user authentication is in auth.ts).
 */
import type { z } from "zod";
import { normalizeError, PipelineError, type PublicError } from "../processors/errors.ts";
import type { CorsConfig } from "./config.ts";

/** Constant-time string comparison, so a wrong secret's timing reveals nothing. */
function safeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}

/**
 * Requires a service secret (the database's kicks and ops tools send it): the `sb_secret_...` key
 * or the legacy service_role JWT, as bearer token or in the `apikey` header (where Supabase
 * asks callers to put the opaque keys).
 * @throws PipelineError AUTH_MISSING / AUTH_INVALID
 */
export function requireServiceCaller(req: Request, serviceKeys: readonly string[]): void {
  const bearer = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
  const given = [bearer, req.headers.get("apikey")].filter((t): t is string => !!t);
  if (given.length === 0) throw new PipelineError("AUTH_MISSING", "missing bearer token or apikey");
  if (!given.some((t) => serviceKeys.some((k) => safeEqual(k, t)))) {
    throw new PipelineError("AUTH_INVALID", "invalid service secret");
  }
}

/**
 * The public form of any failure: `{code, message, retriable}` with a safe message (never the
 * internal text). Our faults (5xx) also get a request id, logged together with the real error
 * and its cause so an operator can find it from what the client reports.
 */
export function publicError(err: unknown): { status: number; body: PublicError; retryAfterS?: number } {
  const e = normalizeError(err);
  if (e.status < 500) return { status: e.status, body: e.toPublic(), retryAfterS: e.retryAfterS };
  const requestId = crypto.randomUUID();
  const cause = e.cause instanceof Error ? e.cause : null;
  console.error(JSON.stringify({
    event: "request.failed",
    requestId,
    code: e.code,
    message: e.message.slice(0, 1000),
    cause: cause ? `${cause.name}: ${cause.message}`.slice(0, 1000) : undefined,
    stack: (cause ?? e).stack?.slice(0, 2000),
  }));
  return { status: e.status, body: e.toPublic(requestId) };
}

/** A JSON error response: the public body, the code's status, and Retry-After when known. */
export function errorResponse(err: unknown): Response {
  const { status, body, retryAfterS } = publicError(err);
  const headers: Record<string, string> = retryAfterS !== undefined ? { "retry-after": String(retryAfterS) } : {};
  if (body.request_id) headers["x-request-id"] = body.request_id;
  return Response.json(body, { status, headers });
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

/** Any origin: the default when CORS_ALLOWED_ORIGINS is not set. */
export const ANY_ORIGIN: CorsConfig = Object.freeze({ allowedOrigins: Object.freeze(["*"]) });
/** The headers supabase-js sends with every function call. */
export const CORS_ALLOW_HEADERS = "authorization, x-client-info, apikey, content-type";
/** Response headers a browser caller may read (error ids, limits, stream metadata). */
const CORS_EXPOSE_HEADERS = "x-request-id, retry-after, x-retrieval-method, x-conversation-id";

/**
 * CORS headers for a response to `req`. An origin not in the list gets no
 * Access-Control-Allow-Origin, so the browser withholds the response; the request itself is
 * still authenticated as usual (CORS protects users' browsers, not the function).
 */
export function corsHeaders(req: Request, cors: CorsConfig): Record<string, string> {
  const h: Record<string, string> = {
    "access-control-allow-headers": CORS_ALLOW_HEADERS,
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-expose-headers": CORS_EXPOSE_HEADERS,
    "access-control-max-age": "86400",
  };
  const origin = req.headers.get("origin");
  if (cors.allowedOrigins.includes("*")) h["access-control-allow-origin"] = "*";
  else {
    h["vary"] = "Origin";
    if (origin && cors.allowedOrigins.includes(origin)) h["access-control-allow-origin"] = origin;
  }
  return h;
}

/**
 * Wraps a user-facing handler for browsers: answers the preflight (OPTIONS, 204) and adds the
 * CORS headers to every response, errors and streams included.
 */
export async function withCors(
  req: Request,
  cors: CorsConfig,
  respond: (req: Request) => Promise<Response>,
): Promise<Response> {
  const headers = corsHeaders(req, cors);
  if (req.method === "OPTIONS") return new Response(null, { status: 204, headers });
  const res = await respond(req);
  for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
  return res;
}

/**
 * Validates a parsed body against `schema`.
 * @throws PipelineError INPUT_INVALID naming every problem (`path: message; ...`).
 */
export function parseBody<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw new PipelineError(
      "INPUT_INVALID",
      r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "),
    );
  }
  return r.data;
}
