/**
 * query: one answer from the SoulPrint plus retrieved memories. User JWT required. Streams
 * the model's tokens as server-sent events; `"stream": false` returns
 * {response, chunks_used, method, retrieval, retrieval_ms, latency_ms}.
 */
import { z } from "zod";
import { type CompanionDeps, retrieve } from "../../../shared/adapters/chat.ts";
import { ANY_ORIGIN, errorResponse, parseBody, readJson, withCors } from "../../../shared/adapters/http.ts";
import { sseResponse, tokens } from "../../../shared/adapters/sse.ts";
import { companionRequest } from "../../../shared/processors/chat-prompt.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";

export const QueryBody = z.object({
  message: z.string().trim().min(1, "message is empty").max(50_000, "message is longer than 50,000 characters"),
  history: z.array(z.object({ role: z.enum(["user", "assistant"]), content: z.string().max(50_000) })).max(100).default(
    [],
  ),
  stream: z.boolean().default(true),
  emotional_state: z.object({ primary: z.string(), confidence: z.number().min(0).max(1) }).optional(),
});

/** Browsers may call it: preflight and CORS headers on every response (deps.cors, default any origin). */
export function handle(req: Request, deps: CompanionDeps): Promise<Response> {
  return withCors(req, deps.cors ?? ANY_ORIGIN, (r) => respond(r, deps));
}

async function respond(req: Request, deps: CompanionDeps): Promise<Response> {
  const t0 = performance.now();
  try {
    if (req.method !== "POST") throw new PipelineError("INPUT_INVALID", "use POST");
    const user = await deps.auth.verify(req);
    await deps.limits.take(user.id, "query");
    const body = parseBody(QueryBody, await readJson(req));
    const tr = performance.now();
    const ctx = await retrieve(deps.db, deps.embedder, user.id, body.message);
    const retrievalMs = Math.round(performance.now() - tr);
    const now = (deps.now ?? (() => new Date()))();
    const request = companionRequest(
      { ...ctx, now, messageCount: body.history.length, emotion: body.emotional_state },
      body.history.slice(-10),
      body.message,
    );
    if (!body.stream) {
      const r = await deps.llm.complete(request);
      return Response.json({
        response: r.text,
        chunks_used: ctx.chunks.length,
        method: ctx.chunks.length ? "rlm" : "fallback",
        retrieval: ctx.method,
        retrieval_ms: retrievalMs,
        latency_ms: Math.round(performance.now() - t0),
      });
    }
    return sseResponse(tokens(deps.llm, request), ctx.chunks.map((c) => c.title), () => Promise.resolve(), {
      "x-retrieval-method": ctx.method,
      "x-retrieval-ms": String(retrievalMs),
    });
  } catch (err) {
    return errorResponse(err);
  }
}
