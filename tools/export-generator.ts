/**
 * Synthetic ChatGPT exports, deterministic by seed, for tests and benchmarks: realistic
 * mapping trees with edits and regenerations, hidden system and custom-instruction nodes,
 * tool calls and outputs, browsing, thoughts and reasoning recaps, multimodal parts,
 * multilingual and long messages, entries without mapping or current_node. Yields the JSON of
 * the conversations array in pieces, so any size can be written with bounded memory.
 */
import { lexicon, RealText } from "./real-text.ts";

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPICS = [
  "sourdough starter",
  "rust lifetimes",
  "marathon training",
  "tax deadlines",
  "a birthday gift for my sister",
  "postgres indexes",
  "learning Portuguese",
  "a job interview",
  "moving apartments",
  "my cat's diet",
  "a React refactor",
  "planning a trip to Kyoto",
  "budget spreadsheets",
  "a short story draft",
  "guitar chords",
  "sleep schedule",
];
const SENTENCES = [
  "Can you help me think through this step by step?",
  "I tried that yesterday and it did not quite work.",
  "Here is what I have so far, tell me what you would change.",
  "That makes sense, but what about the edge cases?",
  "Let me give you a bit more context first.",
  "I prefer short answers with concrete examples.",
  "Honestly I am not sure this is the right approach.",
  "Could you compare the two options for me?",
];
const REPLIES = [
  "Sure. The key idea is to separate the concerns and test each one on its own.",
  "Good question. There are three things to check, in this order.",
  "Here is a concise version you can start from.",
  "That usually happens when the input is not what you expect; print it first.",
  "Both work; the first is simpler, the second scales better.",
];
const FOREIGN = [
  "¿Puedes ayudarme con la receta de mi abuela?",
  "Ich muss morgen früh den Zug nach Berlin nehmen.",
  "今日は東京で雨が降っています。",
  "Je voudrais améliorer mon français écrit.",
  "Мне нужно подготовиться к экзамену.",
];

export interface GeneratorOptions {
  seed: number;
  /** Stop after roughly this many bytes of JSON. */
  targetBytes: number;
  /** Top-level shape. @default "array" */
  wrapper?: "array" | "object";
  /**
   * Message text: "stock" repeats a few short sentences (cheap to chunk, compresses ~14x);
   * "real" is shaped like a real history (real-text.ts): long markdown answers, pasted code,
   * logs and documents, a wide vocabulary, a few long conversations among many short ones.
   * @default "stock"
   */
  text?: "stock" | "real";
}

interface Ctx {
  r: () => number;
  t: number;
  n: number;
  /** Set for `text: "real"`. */
  real?: RealText;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function text(ctx: Ctx, role: "user" | "assistant", topic: string): string {
  const { r, real } = ctx;
  if (real) return role === "user" ? real.user(topic) : real.assistant();
  const parts: string[] = [];
  const k = 1 + Math.floor(r() * (role === "assistant" ? 6 : 3));
  if (role === "user") parts.push(`I want to talk about ${topic}.`);
  for (let i = 0; i < k; i++) parts.push(pick(r, role === "user" ? SENTENCES : REPLIES));
  if (r() < 0.08) parts.push(pick(r, FOREIGN));
  if (r() < 0.03) parts.push("Details: " + "lorem ipsum dolor sit amet ".repeat(200 + Math.floor(r() * 400)));
  return parts.join(" ");
}

function message(
  ctx: Ctx,
  id: string,
  role: string,
  content: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  ctx.t += 5 + Math.floor(ctx.r() * 120);
  return {
    id,
    author: { role, name: role === "tool" ? "python" : null, metadata: {} },
    create_time: ctx.t + ctx.r(),
    update_time: null,
    content,
    status: "finished_successfully",
    end_turn: role === "assistant" ? true : null,
    weight: 1,
    metadata: { model_slug: role === "assistant" ? "gpt-4o" : undefined },
    recipient: "all",
    channel: null,
    ...extra,
  };
}

/** One conversation object (ChatGPT export shape). */
export function conversation(ctx: Ctx): Record<string, unknown> {
  const { r } = ctx;
  const idx = ctx.n++;
  const topic = pick(r, TOPICS);
  const id = `conv-${idx.toString(16).padStart(8, "0")}`;
  if (r() < 0.005) return { id, title: `Corrupted entry ${idx}`, create_time: ctx.t };
  const mapping: Record<string, Record<string, unknown>> = {};
  let seq = 0;
  const nid = () => `${id}-n${seq++}`;
  const add = (parent: string | null, msg: Record<string, unknown> | null) => {
    const key = nid();
    mapping[key] = { id: key, message: msg ? { ...msg, id: key } : null, parent, children: [] };
    if (parent) (mapping[parent]!.children as string[]).push(key);
    return key;
  };
  const start = ctx.t;
  let cur = add(null, null);
  cur = add(
    cur,
    message(ctx, "", "system", { content_type: "text", parts: [""] }, {
      metadata: { is_visually_hidden_from_conversation: true },
    }),
  );
  if (r() < 0.2) {
    cur = add(
      cur,
      message(ctx, "", "user", {
        content_type: "user_editable_context",
        user_profile: "I am a developer.",
        user_instructions: "Be brief.",
      }, {
        metadata: { is_visually_hidden_from_conversation: true, is_user_system_message: true },
      }),
    );
  }
  const turns = ctx.real ? ctx.real.turns() : 2 + Math.floor(r() * 12);
  for (let t = 0; t < turns; t++) {
    const roll = r();
    if (roll < 0.06) {
      // An edit: an abandoned user branch beside the kept one.
      add(cur, message(ctx, "", "user", { content_type: "text", parts: [text(ctx, "user", topic)] }));
    }
    cur = add(
      cur,
      message(
        ctx,
        "",
        "user",
        roll < 0.1
          ? {
            content_type: "multimodal_text",
            parts: [
              { content_type: "image_asset_pointer", asset_pointer: "file-service://x" },
              text(ctx, "user", topic),
            ],
          }
          : { content_type: "text", parts: [text(ctx, "user", topic)] },
      ),
    );
    if (roll > 0.85) {
      cur = add(
        cur,
        message(
          ctx,
          "",
          "assistant",
          { content_type: "thoughts", thoughts: [{ summary: "Thinking", content: "..." }] },
          { channel: "analysis" },
        ),
      );
      cur = add(cur, message(ctx, "", "assistant", { content_type: "reasoning_recap", content: "Thought for 4s" }));
    } else if (roll > 0.75) {
      cur = add(
        cur,
        message(ctx, "", "assistant", { content_type: "code", language: "python", text: "print(1 + 1)" }, {
          recipient: "python",
        }),
      );
      cur = add(cur, message(ctx, "", "tool", { content_type: "execution_output", text: "2" }));
    } else if (roll > 0.7) {
      cur = add(
        cur,
        message(ctx, "", "tool", { content_type: "tether_browsing_display", result: "search results", summary: "" }),
      );
    }
    if (roll > 0.6 && roll < 0.65) {
      // A regeneration: an earlier answer the user replaced.
      add(cur, message(ctx, "", "assistant", { content_type: "text", parts: [text(ctx, "assistant", topic)] }));
    }
    cur = add(cur, message(ctx, "", "assistant", { content_type: "text", parts: [text(ctx, "assistant", topic)] }));
  }
  ctx.t += 3600 * (1 + Math.floor(r() * 48));
  return {
    title: `${topic[0]!.toUpperCase()}${topic.slice(1)} ${idx}`,
    create_time: start,
    update_time: ctx.t,
    mapping,
    moderation_results: [],
    current_node: r() < 0.01 ? "missing-node" : cur,
    plugin_ids: null,
    conversation_id: id,
    id,
    default_model_slug: "gpt-4o",
  };
}

/** The export's JSON, piece by piece, until about `targetBytes`. */
export function* generateExport(opts: GeneratorOptions): Generator<string> {
  const ctx: Ctx = { r: rng(opts.seed), t: 1_672_531_200 + Math.floor(rng(opts.seed)() * 1e6), n: 0 };
  if (opts.text === "real") ctx.real = new RealText(ctx.r, lexicon(rng(opts.seed + 1)));
  let bytes = 0;
  yield opts.wrapper === "object" ? '{"conversations":[' : "[";
  do {
    const s = (ctx.n ? "," : "") + JSON.stringify(conversation(ctx));
    bytes += s.length;
    yield s;
  } while (bytes < opts.targetBytes);
  yield opts.wrapper === "object" ? "]}" : "]";
}
