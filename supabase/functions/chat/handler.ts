/**
 * chat: a turn in one of the user's chats. Saves the user's message, answers from the
 * SoulPrint, retrieved memories and the last 10 turns, streams the reply, and saves it when
 * the stream ends (marked incomplete if the client went away first).
 */
import { z } from "zod";
import {
  type CompanionDeps,
  openChat,
  retrieve,
  saveAssistantMessage,
  saveUserMessage,
} from "../../../shared/adapters/chat.ts";
import { ANY_ORIGIN, errorResponse, parseBody, readJson, withCors } from "../../../shared/adapters/http.ts";
import { sseResponse, tokens } from "../../../shared/adapters/sse.ts";
import { companionRequest } from "../../../shared/processors/chat-prompt.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";

const ChatBody = z.object({
  message: z.string().trim().min(1, "message is empty").max(50_000, "message is longer than 50,000 characters"),
  conversation_id: z.string().uuid().nullable().default(null),
  stream: z.boolean().default(true),
});

/** Browsers may call it: preflight and CORS headers on every response (deps.cors, default any origin). */
export function handle(req: Request, deps: CompanionDeps): Promise<Response> {
  return withCors(req, deps.cors ?? ANY_ORIGIN, (r) => respond(r, deps));
}

async function respond(req: Request, deps: CompanionDeps): Promise<Response> {
  try {
    if (req.method !== "POST") throw new PipelineError("INPUT_INVALID", "use POST");
    const user = await deps.auth.verify(req);
    await deps.limits.take(user.id, "chat");
    const body = parseBody(ChatBody, await readJson(req));
    const chat = await openChat(deps.db, user.id, body.conversation_id, 10);
    if (!chat) throw new PipelineError("NOT_FOUND", "no such chat");
    await saveUserMessage(deps.db, user.id, chat.id, body.message);
    const ctx = await retrieve(deps.db, deps.embedder, user.id, body.message);
    const now = (deps.now ?? (() => new Date()))();
    const request = companionRequest({ ...ctx, now, messageCount: chat.total }, chat.history, body.message);
    const save = (text: string, complete: boolean) =>
      text ? saveAssistantMessage(deps.db, user.id, chat.id, text, complete) : Promise.resolve();
    if (!body.stream) {
      const r = await deps.llm.complete(request);
      await save(r.text, true);
      return Response.json({ conversation_id: chat.id, response: r.text, chunks_used: ctx.chunks.length });
    }
    return sseResponse(tokens(deps.llm, request), ctx.chunks.map((c) => c.title), save, {
      "x-conversation-id": chat.id,
    });
  } catch (err) {
    return errorResponse(err);
  }
}
