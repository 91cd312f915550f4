/**
 * HTTP helpers shared by every handler: service-caller authentication and coded error responses
 * (user authentication is in auth.ts).
 */
import type { z } from "zod";
import { normalizeError, PipelineError, type PublicError } from "../processors/errors.ts";

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
