import { publicError } from "./http.ts";
import type { LlmProvider, LlmRequest, StreamingLlmProvider } from "./llm/types.ts";

/**
 * The provider's token stream; a provider without streaming (Bedrock InvokeModel here) yields
 * its whole answer as one piece rather than pretending to stream it.
 */
export async function* tokens(llm: LlmProvider, req: LlmRequest): AsyncIterable<string> {
  if ("stream" in llm && typeof (llm as StreamingLlmProvider).stream === "function") {
    yield* (llm as StreamingLlmProvider).stream(req);
  } else {
    yield (await llm.complete(req)).text;
  }
}

/**
 * Server-sent events in the web app's format: `data: {"content": "..."}` per piece of the real
 * token stream, then `data: {"type":"citations","data":[...]}` and `data: [DONE]`.
 * `onEnd(text, complete)` runs once, when the stream ends or the client goes away.
 */
export function sseResponse(
  pieces: AsyncIterable<string>,
  citations: unknown[],
  onEnd: (text: string, complete: boolean) => Promise<void>,
  headers: Record<string, string> = {},
): Response {
  const enc = new TextEncoder();
  let text = "", ended = false;
  const end = async (complete: boolean) => {
    if (ended) return;
    ended = true;
    await onEnd(text, complete).catch((e) =>
      console.error(JSON.stringify({ event: "chat.save_failed", error: String(e) }))
    );
  };
  const it = pieces[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await it.next();
        if (done) {
          c.enqueue(enc.encode(`data: ${JSON.stringify({ type: "citations", data: citations })}\n\ndata: [DONE]\n\n`));
          c.close();
          await end(true);
          return;
        }
        text += value;
        c.enqueue(enc.encode(`data: ${JSON.stringify({ content: value })}\n\n`));
      } catch (err) {
        // The coded, safe form only; the real error is logged under the event's request id.
        c.enqueue(enc.encode(`data: ${JSON.stringify({ type: "error", ...publicError(err).body })}\n\n`));
        c.close();
        await end(false);
      }
    },
    async cancel() {
      await it.return?.();
      await end(false);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...headers },
  });
}
