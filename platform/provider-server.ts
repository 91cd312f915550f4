/**
 * Local only (never deployed): a protocol test server that speaks the Anthropic Messages API
 * (POST /v1/messages) and the Bedrock runtime endpoints the adapters use
 * (POST /model/<id>/invoke for Claude and Titan embeddings), so the real SDKs can be tested.
 * Replies are rule-based: the offline analyser answers the task named in the system prompt's
 * `[task: ...]` marker, unless a fixed `reply` is set (tests of the adapters themselves). Every
 * model request is kept in `received` (system prompt and messages), so tests can check what
 * reached the model. Faults are injected by rate, deterministically by seed: latency, 429
 * with retry-after, 529, 500, timeouts, fenced JSON, malformed JSON, and a reply that continues
 * the user's conversation instead of analysing it.
 */
import { hashEmbedding } from "../shared/processors/hash-embedding.ts";
import { OfflineProvider } from "../shared/adapters/llm/offline.ts";
import { rng } from "../tools/export-generator.ts";

export interface Faults {
  latencyMs?: number;
  rate429?: number;
  retryAfterS?: number;
  rate529?: number;
  rate500?: number;
  timeoutRate?: number;
  timeoutMs?: number;
  fencedRate?: number;
  malformedRate?: number;
  continueRate?: number;
  /** Delay between streamed words. */
  streamDelayMs?: number;
  /** Requests per minute accepted before answering 429 (sliding window). */
  rpmLimit?: number;
  /** Answer every model request with exactly this text instead of the offline analyser's. */
  reply?: string;
  seed?: number;
}

/** A model request as the server received it. */
export interface ReceivedRequest {
  system: string;
  messages: { role: "user" | "assistant"; content: string }[];
  model: string;
  maxTokens: number | null;
}

/** One request's timeline: when it arrived and was answered (ms since epoch), and how. */
export interface CallRecord {
  at: number;
  /** When the answer was sent (a streamed one: its last event); 0 while unanswered. */
  done: number;
  status: number;
  /** The `[task: ...]` of its system prompt ("embed" for embeddings), when known. */
  task: string | null;
}

export interface ProviderServer {
  url: string;
  received: ReceivedRequest[];
  /** `times`: each request's arrival; `calls`: each request's timeline, in arrival order. */
  stats: { requests: number; byStatus: Record<number, number>; times: number[]; calls: CallRecord[] };
  faults: Faults;
  close(): Promise<void>;
}

const offline = new OfflineProvider();

export function startProviderServer(faults: Faults = {}): ProviderServer {
  const rand = rng(faults.seed ?? 42);
  const stats = {
    requests: 0,
    byStatus: {} as Record<number, number>,
    times: [] as number[],
    calls: [] as CallRecord[],
  };
  const window: number[] = [];
  const received: ReceivedRequest[] = [];
  const state = { faults };
  const reply = (call: CallRecord, status: number, body: unknown, headers: Record<string, string> = {}) => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    (call.status = status, call.done = Date.now());
    return Response.json(body, { status, headers });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const f = state.faults;
    stats.requests++;
    stats.times.push(Date.now());
    const call: CallRecord = { at: Date.now(), done: 0, status: 0, task: null };
    stats.calls.push(call);
    const url = new URL(req.url);
    const body = await req.json().catch(() => ({})) as Record<string, unknown>;
    const bedrock = url.pathname.startsWith("/model/");
    call.task = bedrock && decodeURIComponent(url.pathname).includes("titan-embed")
      ? "embed"
      : (typeof body.system === "string" ? body.system.match(/\[task: ([a-z_]+)\]/)?.[1] ?? null : null);
    if (f.latencyMs) await new Promise((r) => setTimeout(r, f.latencyMs));
    if (f.rpmLimit) {
      const now = Date.now();
      while (window.length && window[0]! < now - 60_000) window.shift();
      if (window.length >= f.rpmLimit) {
        return reply(call, 429, { type: "error", error: { type: "rate_limit_error", message: "rpm limit" } }, {
          "retry-after": String(Math.ceil((window[0]! + 60_000 - now) / 1000)),
          "x-amzn-errortype": "ThrottlingException",
        });
      }
      window.push(now);
    }
    const roll = rand();
    let edge = 0;
    const hit = (rate = 0) => roll >= edge && roll < (edge += rate);
    if (hit(f.rate429)) {
      return reply(
        call,
        429,
        bedrock
          ? { message: "Too many requests" }
          : { type: "error", error: { type: "rate_limit_error", message: "Too many requests" } },
        { "retry-after": String(f.retryAfterS ?? 1), "x-amzn-errortype": "ThrottlingException" },
      );
    }
    if (hit(f.rate529)) {
      return reply(call, 529, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    }
    if (hit(f.rate500)) {
      return reply(
        call,
        500,
        bedrock
          ? { message: "Internal error" }
          : { type: "error", error: { type: "api_error", message: "Internal error" } },
        { "x-amzn-errortype": "InternalServerException" },
      );
    }
    if (hit(f.timeoutRate)) await new Promise((r) => setTimeout(r, f.timeoutMs ?? 30_000));

    if (bedrock && decodeURIComponent(url.pathname).includes("titan-embed")) {
      const text = String(body.inputText ?? "");
      return reply(call, 200, {
        embedding: hashEmbedding(text, Number(body.dimensions ?? 768)),
        inputTextTokenCount: Math.ceil(text.length / 4),
      });
    }
    const system = typeof body.system === "string" ? body.system : "";
    const messages = (body.messages ?? []) as { role: "user" | "assistant"; content: string }[];
    const purpose = system.match(/\[task: ([a-z_]+)\]/)?.[1];
    const model = bedrock ? decodeURIComponent(url.pathname.split("/")[2] ?? "") : String(body.model ?? "");
    received.push({ system, messages, model, maxTokens: Number(body.max_tokens ?? NaN) || null });
    const r = await offline.complete({ system, messages, purpose });
    let text = f.reply ?? r.text;
    if (hit(f.fencedRate)) text = "```json\n" + text + "\n```";
    else if (hit(f.malformedRate)) text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
    else if (hit(f.continueRate)) {
      text = "Of course! And as I was saying, Mercury in retrograde means your week will be full of surprises.";
    }
    if (body.stream === true) {
      // Anthropic's streaming events, a word at a time (streamDelayMs apart).
      stats.byStatus[200] = (stats.byStatus[200] ?? 0) + 1;
      call.status = 200;
      const enc = new TextEncoder();
      const ev = (type: string, data: unknown) =>
        enc.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data as object })}\n\n`);
      const words = text.match(/\S+\s*/g) ?? [""];
      const stream = new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(
            ev("message_start", {
              message: {
                id: `msg_${stats.requests}`,
                type: "message",
                role: "assistant",
                model: String(body.model),
                content: [],
                stop_reason: null,
                usage: { input_tokens: r.usage.input_tokens, output_tokens: 0 },
              },
            }),
          );
          c.enqueue(ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
          for (const w of words) {
            if (f.streamDelayMs) await new Promise((res) => setTimeout(res, f.streamDelayMs));
            try {
              c.enqueue(ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: w } }));
            } catch {
              return; // the client went away
            }
          }
          c.enqueue(ev("content_block_stop", { index: 0 }));
          c.enqueue(
            ev("message_delta", {
              delta: { stop_reason: "end_turn" },
              usage: { output_tokens: r.usage.output_tokens },
            }),
          );
          c.enqueue(ev("message_stop", {}));
          call.done = Date.now();
          c.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    }
    return reply(call, 200, {
      id: `msg_${stats.requests}`,
      type: "message",
      role: "assistant",
      model: String(body.model ?? "test-model"),
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      usage: { input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    stats,
    received,
    get faults() {
      return state.faults;
    },
    set faults(v: Faults) {
      state.faults = v;
    },
    close: () => server.shutdown(),
  };
}
