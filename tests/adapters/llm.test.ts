// Providers: one contract suite for offline, Anthropic and Bedrock (the real SDKs against the
// protocol test server), structured output with repair, faults, and the shared rate limiter.
import assert from "node:assert/strict";
import { createDb } from "../../shared/adapters/db.ts";
import { OfflineEmbedder, TitanEmbedder } from "../../shared/adapters/embedder.ts";
import { AnthropicProvider } from "../../shared/adapters/llm/anthropic.ts";
import { BedrockProvider } from "../../shared/adapters/llm/bedrock.ts";
import { OfflineProvider } from "../../shared/adapters/llm/offline.ts";
import { completeJson } from "../../shared/adapters/llm/structured.ts";
import type { LlmProvider, LlmRequest } from "../../shared/adapters/llm/types.ts";
import { loadProviderConfig } from "../../shared/adapters/config.ts";
import { PostgresRateLimiter, unlimited } from "../../shared/adapters/ratelimit.ts";
import { DEFAULT_PRICES } from "../../shared/processors/pricing.ts";
import { FactsSchema, SectionsSchema } from "../../shared/processors/schemas.ts";
import { buildExtractionBatches } from "../../shared/processors/extraction-input.ts";
import { type Faults, startProviderServer } from "../../platform/provider-server.ts";
import { DB_URL } from "../_support/platform.ts";

const DATA = [
  "=== Moving abroad | 2024-02-01 ===",
  "User: My name is Dana Reyes. I live in Porto and I work as a data engineer.",
  "Assistant: Nice to meet you, Dana. I live in the cloud.",
  "User: I love trail running. I don't eat meat. I'm working on a sourdough bakery website.",
  "=== Later | 2025-06-01 ===",
  "User: I've moved to Lisbon. If I lived in Tokyo I would learn Japanese. I decided to adopt a cat.",
].join("\n");

/** The same history as a fact-extraction request (extraction-input.ts): the person's words, the assistant's as context. */
const [FACTS_DATA] = buildExtractionBatches([
  {
    id: "c1",
    title: "Moving abroad",
    date: "2024-02-01",
    messages: [
      { role: "user", text: "My name is Dana Reyes. I live in Porto and I work as a data engineer." },
      { role: "assistant", text: "Nice to meet you, Dana. I live in the cloud." },
      { role: "user", text: "I love trail running. I don't eat meat." },
      { role: "user", text: "I'm working on a sourdough bakery website." },
    ],
  },
  {
    id: "c2",
    title: "Later",
    date: "2025-06-01",
    messages: [{
      role: "user",
      text: "I've moved to Lisbon. If I lived in Tokyo I would learn Japanese. I decided to adopt a cat.",
    }],
  },
]).map((b) => b.text);

const request = (purpose: string): LlmRequest => ({
  system: `[task: ${purpose}] Analyse the conversations. Output only JSON.`,
  messages: [{
    role: "user",
    content: `<conversations>\n${
      purpose === "facts" ? FACTS_DATA : DATA
    }\n</conversations>\nThis is data to analyse, not a conversation to continue. Output only the JSON.`,
  }],
  maxTokens: 1024,
  purpose,
});

function providers(url: string): [string, () => LlmProvider][] {
  return [
    ["offline", () => new OfflineProvider()],
    [
      "anthropic",
      () =>
        new AnthropicProvider({
          apiKey: "test-key",
          baseUrl: url,
          model: "claude-haiku-4-5-20251001",
          prices: DEFAULT_PRICES,
          limiter: unlimited,
        }),
    ],
    [
      "bedrock",
      () =>
        new BedrockProvider({
          region: "us-east-1",
          endpoint: url,
          accessKeyId: "a",
          secretAccessKey: "b",
          model: "us.anthropic.claude-haiku-4-5-20251001-v1:0",
          prices: DEFAULT_PRICES,
          limiter: unlimited,
        }),
    ],
  ];
}

async function withServer(
  faults: Faults,
  fn: (url: string, s: ReturnType<typeof startProviderServer>) => Promise<void>,
) {
  const s = startProviderServer(faults);
  try {
    await fn(s.url, s);
  } finally {
    await s.close();
  }
}

/** A complete, valid sections answer: what the protocol server replies in the adapter tests. */
const SECTIONS_REPLY = {
  soul: {
    communication_style: "direct",
    personality_traits: ["curious", "steady", "dry humour"],
    tone_preferences: "plain",
    boundaries: "no small talk",
    humor_style: "dry",
    formality_level: "casual",
    emotional_patterns: "calm",
  },
  identity: {
    ai_name: "Quillon",
    archetype: "patient guide",
    vibe: "warm",
    emoji_style: "none",
    signature_greeting: "Hello again.",
  },
  user: {
    name: "Marisol Okafor-Lindqvist",
    location: "Trondheim",
    occupation: "glacier surveyor",
    relationships: ["a brother, Tomas"],
    interests: ["ice climbing"],
    life_context: "fieldwork season",
    preferred_address: "Mari",
  },
  agents: {
    response_style: "short",
    behavioral_rules: ["be brief", "cite dates", "ask before advising"],
    context_adaptation: "more detail at work",
    memory_directives: "remember fieldwork dates",
    do_not: ["flatter"],
  },
  tools: {
    likely_usage: ["planning"],
    capabilities_emphasis: ["maps"],
    output_preferences: "lists",
    depth_preference: "medium",
  },
};

Deno.test("provider contract: every provider completes and accounts usage", async () => {
  await withServer({}, async (url) => {
    for (const [name, make] of providers(url)) {
      const plain = await make().complete({
        system: "[task: chat] Be brief.",
        messages: [{ role: "user", content: "hello" }],
      });
      assert.ok(plain.text.length > 0, name);
      assert.ok(plain.usage.input_tokens > 0 && plain.usage.output_tokens > 0, name);
      assert.equal(plain.provider, name);
    }
  });
});

Deno.test("Anthropic and Bedrock adapters: the request reaches the model as built, the model's answer comes back unchanged, priced", async () => {
  await withServer({ reply: JSON.stringify(SECTIONS_REPLY) }, async (url, server) => {
    for (const [name, make] of providers(url).slice(1)) {
      const req = request("sections");
      const before = server.received.length;
      const r = await completeJson(make(), req, SectionsSchema);
      assert.deepEqual(r.value, SECTIONS_REPLY, `${name}: the answer is the model's, field for field`);
      assert.equal(r.calls, 1, `${name}: a valid answer needs no repair`);
      assert.ok(r.costUsd > 0 && r.usage.output_tokens > 0, `${name}: priced from the reported usage`);
      const sent = server.received.slice(before);
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.system, req.system, `${name}: system prompt`);
      assert.deepEqual(sent[0]!.messages, req.messages, `${name}: messages`);
      assert.equal(sent[0]!.maxTokens, req.maxTokens, `${name}: max tokens`);
      assert.match(sent[0]!.model, /claude-haiku-4-5/, `${name}: model`);
    }
  });
});

Deno.test("offline provider: facts plainly stated in the data come back (tolerant of wording)", async () => {
  const p = new OfflineProvider();
  const s = (await completeJson(p, request("sections"), SectionsSchema)).value!;
  assert.match(s.user.name, /Dana/);
  assert.match(JSON.stringify(s), /Lisbon/, "the city the person says they live in now");
  assert.ok(!/^(assistant|helper|ai|bot|buddy|soul)$/i.test(s.identity.ai_name), "creative ai_name");
  const f = JSON.stringify((await completeJson(p, request("facts"), FactsSchema)).value).toLowerCase();
  assert.match(f, /trail running/);
  assert.match(f, /adopt a cat/);
  assert.ok(!f.includes("cloud"), "the assistant's statements are not the user's");
});

Deno.test("structured output: fences stripped, one repair round trip, then a coded error", async () => {
  await withServer({ fencedRate: 1 }, async (url) => {
    const p = providers(url)[1]![1]();
    const r = await completeJson(p, request("facts"), FactsSchema);
    assert.equal(r.calls, 1, "a fenced reply needs no repair");
  });
  await withServer({ malformedRate: 1 }, async (url) => {
    const p = providers(url)[1]![1]();
    await assert.rejects(() => completeJson(p, request("facts"), FactsSchema), { code: "LLM_OUTPUT_INVALID" });
  });
  await withServer({ continueRate: 1 }, async (url) => {
    const p = providers(url)[2]![1]();
    await assert.rejects(
      () => completeJson(p, request("sections"), SectionsSchema),
      (e: { code: string; message: string }) => {
        assert.equal(e.code, "LLM_OUTPUT_INVALID");
        assert.match(e.message, /Mercury/, "the error quotes the reply");
        return true;
      },
    );
  });
});

Deno.test("faults through the real SDKs: 20 % 429 + 5 % malformed -> every call a valid value or a coded error", async () => {
  await withServer({ rate429: 0.2, retryAfterS: 0, malformedRate: 0.05, seed: 7 }, async (url, server) => {
    for (const [name, make] of providers(url).slice(1)) {
      const p = make();
      let ok = 0, coded = 0;
      for (let i = 0; i < 25; i++) {
        try {
          const r = await completeJson(p, { ...request("facts"), deadline: Date.now() + 30_000 }, FactsSchema);
          assert.ok(r.value!.preferences.length > 0);
          ok++;
        } catch (e) {
          assert.ok((e as { code?: string }).code, `${name}: uncoded failure ${e}`);
          coded++;
        }
      }
      console.log(`${name}: ${ok} valid, ${coded} coded errors; server saw ${JSON.stringify(server.stats.byStatus)}`);
      assert.equal(ok + coded, 25);
      assert.ok(ok >= 20, `${name}: most calls succeed after retries (${ok})`);
    }
    assert.ok((server.stats.byStatus[429] ?? 0) > 0, "429s were injected and retried");
  });
});

Deno.test("a refused request (400) is not retried and is coded", async () => {
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      Response.json({ type: "error", error: { type: "invalid_request_error", message: "prompt is too long" } }, {
        status: 400,
      }),
  );
  try {
    const p = new AnthropicProvider({
      apiKey: "k",
      baseUrl: `http://127.0.0.1:${s.addr.port}`,
      model: "m",
      prices: DEFAULT_PRICES,
      limiter: unlimited,
    });
    await assert.rejects(() => p.complete(request("facts")), (e: { code: string; retriable: boolean }) => {
      assert.equal(e.code, "PROVIDER_ERROR");
      assert.equal(e.retriable, false);
      return true;
    });
  } finally {
    await s.shutdown();
  }
});

Deno.test("shared rate limit in Postgres: 4 concurrent workers stay within the configured RPM", async () => {
  const db = createDb({ dbUrl: DB_URL }, 8);
  try {
    await withServer({}, async (url, server) => {
      const rpm = 240;
      const key = `test-${crypto.randomUUID()}`;
      const worker = async () => {
        const p = new AnthropicProvider({
          apiKey: "k",
          baseUrl: url,
          model: key,
          prices: DEFAULT_PRICES,
          limiter: new PostgresRateLimiter(db, { rpm, tpm: 10_000_000 }),
        });
        for (let i = 0; i < 10; i++) {
          await p.complete({ system: "[task: chat]", messages: [{ role: "user", content: "hi" }] });
        }
      };
      const t0 = Date.now();
      await Promise.all([worker(), worker(), worker(), worker()]);
      const seconds = (Date.now() - t0) / 1000;
      // The bucket allows a burst of one second's quota, then the steady rate.
      const burst = rpm / 60;
      const times = server.stats.times;
      const steady = ((times.length - burst) / ((times.at(-1)! - times[0]!) / 1000)) * 60;
      console.log(
        `rate limit: configured ${rpm} rpm, measured ${steady.toFixed(0)} rpm steady ` +
          `(${times.length} calls from 4 workers in ${seconds.toFixed(1)} s)`,
      );
      assert.equal(server.stats.requests, 40);
      assert.ok(steady <= rpm * 1.05, `measured ${steady} rpm`);
      // And no window ever held more than the burst plus the refill.
      for (let i = 0; i < times.length; i++) {
        for (let j = i; j < times.length; j++) {
          assert.ok(j - i + 1 <= burst + 1 + (rpm / 60) * ((times[j]! - times[i]!) / 1000) + 1);
        }
      }
    });
  } finally {
    await db.end();
  }
});

Deno.test("shared rate limit: a call's unused reservation goes back to the tokens bucket, an overrun is taken", async () => {
  const db = createDb({ dbUrl: DB_URL }, 2);
  try {
    await withServer({}, async (url) => {
      const tpm = 60_000; // a bucket of 10,000 tokens
      const model = `test-${crypto.randomUUID()}`;
      const limiter = new PostgresRateLimiter(db, { rpm: 6000, tpm });
      const bucket = async () =>
        Number((await db`select tokens from private.rate_buckets where key = ${`anthropic:${model}:tpm`}`)[0]!.tokens);
      const p = new AnthropicProvider({ apiKey: "k", baseUrl: url, model, prices: DEFAULT_PRICES, limiter });
      const r = await p.complete({ ...request("facts"), maxTokens: 4000 });
      const used = r.usage.input_tokens + r.usage.output_tokens;
      // Reserved: the prompt's estimate + 4,000; held now: only what the answer used (plus a few ms of refill).
      const left = await bucket();
      assert.ok(used < 4000, `the answer used ${used} tokens`);
      assert.ok(left >= 10_000 - used - 1 && left <= 10_000, `bucket ${left} after a call that used ${used}`);
      // Settling more than was reserved takes the difference, below zero if need be.
      await limiter.settle(`anthropic:${model}`, 100, 20_000);
      assert.ok((await bucket()) < 0);
      // The next request then waits for the refill instead of starting.
      assert.equal(await limiter.acquire(`anthropic:${model}`, 100, Date.now() + 50), false);
    });
  } finally {
    await db.end();
  }
});

Deno.test("embedders: offline and Titan (protocol server) give normalised vectors of the configured dimension", async () => {
  await withServer({}, async (url) => {
    const titan = new TitanEmbedder({
      region: "us-east-1",
      endpoint: url,
      accessKeyId: "a",
      secretAccessKey: "b",
      model: "amazon.titan-embed-text-v2:0",
      dimension: 768,
      prices: DEFAULT_PRICES,
      limiter: unlimited,
    });
    for (const e of [new OfflineEmbedder(768), titan]) {
      const r = await e.embed(["I love trail running in Porto", "tax deadlines"]);
      assert.equal(r.vectors.length, 2);
      for (const v of r.vectors) {
        assert.equal(v.length, 768);
        assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-6);
      }
      assert.deepEqual((await e.embed(["I love trail running in Porto"])).vectors[0], r.vectors[0], "deterministic");
    }
  });
});

Deno.test("provider config: offline by default, coded errors name every problem", () => {
  const env = (v: Record<string, string>) => ({ get: (k: string) => v[k] });
  const d = loadProviderConfig(env({}));
  assert.equal(d.llm, "offline");
  assert.equal(d.embedding, "offline");
  assert.equal(d.dimension, 768);
  assert.equal(loadProviderConfig(env({ ANTHROPIC_API_KEY: "x" })).llm, "anthropic");
  assert.throws(
    () => loadProviderConfig(env({ LLM_PROVIDER: "bedrock", LLM_RPM: "-1" })),
    (e: { code: string; message: string }) => {
      assert.equal(e.code, "CONFIG_INVALID");
      assert.match(e.message, /AWS_ACCESS_KEY_ID/);
      assert.match(e.message, /LLM_RPM/);
      return true;
    },
  );
});

Deno.test("capture: LLM_CAPTURE_FILE (config) wraps the provider; each call appends one line with stage and job_id", async () => {
  const { loadProviderConfig } = await import("../../shared/adapters/config.ts");
  const { withCapture } = await import("../../shared/adapters/llm/capture.ts");
  const { OfflineProvider } = await import("../../shared/adapters/llm/offline.ts");
  const { factsPrompt } = await import("../../shared/processors/prompts.ts");
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    const get = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
    assert.equal(loadProviderConfig(get({})).captureFile, null, "off by default");
    const cfg = loadProviderConfig(get({ LLM_CAPTURE_FILE: file }));
    const offline = new OfflineProvider();
    assert.equal(withCapture(offline, null), offline);
    const llm = withCapture(offline, cfg.captureFile);
    const req = factsPrompt(
      `<conversation id="c1" date="2024-01-02" title="T">\n<user>I love jazz piano.</user>\n</conversation>`,
    );
    const res = await llm.complete({ ...req, tag: { stage: "extract", jobId: "job-1" } });
    await llm.complete({ system: "s", messages: [{ role: "user", content: "hi" }], purpose: "chat" });
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.equal(lines[0].stage, "extract");
    assert.equal(lines[0].job_id, "job-1");
    assert.equal(lines[0].model, offline.model);
    assert.equal(lines[0].max_tokens, req.maxTokens);
    assert.equal(lines[0].system, req.system);
    assert.deepEqual(lines[0].messages, req.messages);
    assert.equal(lines[0].reply, res.text);
    assert.match(res.text, /jazz piano/);
    assert.equal(lines[1].stage, "chat", "untagged calls fall back to their purpose");
    assert.equal(lines[1].job_id, null);
  } finally {
    await Deno.remove(file);
  }
});
