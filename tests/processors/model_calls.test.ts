// The model calls an import needs (bench:pipeline's bound): extraction requests packed the way
// the extract tasks pack them, the other stages' calls, their tokens, and the least time they take.
import assert from "node:assert/strict";
import {
  buildExtractionBatches,
  compareIds,
  continuation,
  CONVERSATIONS_PER_TASK,
  extractionPlan,
  firstPersonMessages,
  MAX_REQUEST_CHARS,
  MIN_STEP_CHARS,
  nextStep,
  parseExtractionInput,
  READ_LIMIT_CHARS,
  READ_STEP_CHARS,
  readWindow,
  repeatedUserMessages,
  skipUnlessKept,
  type SourceConversation,
  userCharsFrom,
} from "../../shared/processors/extraction-input.ts";
import {
  extractionSource,
  idealSeconds,
  type NeededCall,
  neededModelCalls,
  type StoredInput,
} from "../../shared/processors/model-calls.ts";
import { factsPrompt } from "../../shared/processors/prompts.ts";
import type { FactSet } from "../../shared/processors/schemas.ts";

/** Prose of `n` characters that never repeats itself, different for each seed (a pseudo-random word walk). */
const prose = (seed: number, n: number) => {
  const words = ["garden", "river", "ticket", "violin", "harbour", "lantern", "meadow", "pepper", "saddle", "copper"];
  let s = `Note ${seed}:`, x = seed + 1;
  for (let i = 0; s.length < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += ` ${words[Math.floor(x / 65536) % words.length]}${i % 7 === 6 ? "." : ""}`;
  }
  return s.slice(0, n);
};

const stored = (id: string, user: string[], assistant = "Sure, tell me more about that."): StoredInput => ({
  id,
  title: `Title ${id}`,
  created_at: "2024-03-05T10:00:00.000Z",
  messages: user.flatMap((content) => [
    { role: "user", content },
    { role: "assistant", content: assistant },
  ]),
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `c${String(i).padStart(3, "0")}`);

Deno.test("extraction plan: ranges of 100 by id, each packed into requests of at most 32,000 characters", () => {
  // 200 conversations of one 1,000-character message: 29 fit a request, so each range of 100 takes four.
  const convs = ids(200).reverse().map((id, i) => extractionSource(stored(id, [prose(i, 1000)])));
  const plan = extractionPlan(convs);
  assert.equal(plan.requests.length, 8);
  // Two ranges of four tasks each, and the empty open-ended range a multiple of 100 leaves (as the store's ranges).
  assert.equal(plan.tasks, 9);
  const perRequest = plan.requests.map((r) => r.conversationIds);
  assert.deepEqual(perRequest.map((x) => x.length), [29, 29, 29, 13, 29, 29, 29, 13]);
  assert.deepEqual(perRequest.flat(), ids(200), "every conversation once, in id order");
  for (const r of plan.requests) assert.ok(r.text.length <= MAX_REQUEST_CHARS);
  // No request mixes two tasks' ranges.
  for (const r of perRequest) {
    assert.equal(Math.floor(ids(200).indexOf(r[0]!) / 100), Math.floor(ids(200).indexOf(r.at(-1)!) / 100));
  }
  assert.equal(CONVERSATIONS_PER_TASK, 100);
});

Deno.test("extraction plan: continuations send what one pass over the range would, long messages in pieces", () => {
  const convs = ids(130).map((id, i) =>
    extractionSource(stored(id, i % 7 === 0 ? [prose(i, 45_000), prose(i + 1000, 300)] : [prose(i, 2_500)]))
  );
  const plan = extractionPlan(convs);
  const skip = repeatedUserMessages(convs);
  const onePass = [convs.slice(0, CONVERSATIONS_PER_TASK), convs.slice(CONVERSATIONS_PER_TASK)].flatMap((range) =>
    buildExtractionBatches(range, { maxChars: MAX_REQUEST_CHARS, skip }).filter((b) => b.text)
  );
  assert.deepEqual(plan.requests.map((r) => r.text), onePass.map((b) => b.text));
  // Every character the person wrote is sent (nothing here is pasted material or a repeat).
  const sent = plan.requests.flatMap((r) => parseExtractionInput(r.text)).flatMap((c) =>
    c.messages.filter((m) => m.role === "user").map((m) => m.text)
  );
  const written = convs.flatMap((c) => c.messages.filter((m) => m.role === "user").map((m) => m.text.trim()));
  assert.equal(sent.join(""), written.join(""));
  assert.ok(plan.requests.length > Math.ceil(written.join("").length / MAX_REQUEST_CHARS));
});

Deno.test("read window: conversations while the figures summed before each are under the step's budget and the limit", () => {
  const w = (user_chars: number, total_chars = 2 * user_chars) => ({ user_chars, total_chars });
  const same = (x: ReturnType<typeof w>) => x;
  assert.equal(READ_STEP_CHARS, MAX_REQUEST_CHARS / 4);
  const six = [1, 2, 3, 4, 5, 6].map(() => w(3_000));
  assert.deepEqual(
    readWindow(six, same),
    { read: six.slice(0, 3), more: six[3] },
    "0, 3,000 and 6,000 are under 8,000",
  );
  assert.deepEqual(readWindow(six, same, 10_000), { read: six.slice(0, 4), more: six[4] });
  assert.deepEqual(
    readWindow(six, same, 10_000, 6_001),
    { read: six.slice(0, 2), more: six[2] },
    "stored: 0 and 6,000",
  );
  const big = [w(500_000, 3_000_000), w(10)];
  assert.deepEqual(readWindow(big, same), { read: big.slice(0, 1), more: big[1] }, "one is always read");
  assert.deepEqual(readWindow([], same), { read: [], more: null });
  const at = { conversation: "c7", message: 3, offset: 100 };
  const batch = { next: at } as Parameters<typeof continuation>[0];
  assert.deepEqual(continuation(batch, "c9"), at, "where the request stopped comes first");
  assert.deepEqual(continuation({ ...batch!, next: null }, "c9"), { conversation: "c9", message: 0, offset: 0 });
  assert.equal(continuation(null, null), null);
});

Deno.test("extraction plan: a heavy range is read in windows, and every message is still sent once", () => {
  // 100 conversations of 30 distinct 400-character messages: 1.2 million characters in one range.
  const storedConvs = ids(100).map((id, i) =>
    stored(id, Array.from({ length: 30 }, (_, k) => prose(i * 100 + k, 400)))
  );
  const convs = storedConvs.map(extractionSource);
  const plan = extractionPlan(convs);
  const sent = plan.requests.flatMap((r) => parseExtractionInput(r.text)).flatMap((c) =>
    c.messages.filter((m) => m.role === "user").map((m) => m.text)
  );
  const written = convs.flatMap((c) => c.messages.filter((m) => m.role === "user").map((m) => m.text.trim()));
  assert.equal(sent.join(""), written.join(""));
  // Read in windows (12,000 of the stored figure a conversation: 11 a task), the requests stay full.
  const fewest = Math.ceil(plan.requests.reduce((n, r) => n + r.text.length, 0) / MAX_REQUEST_CHARS);
  assert.ok(plan.requests.length <= fewest + 3, `${plan.requests.length} requests for ${fewest} full ones`);
});

Deno.test("next step: none once the request is full, the range read or the limit reached; else sized by the rate so far", () => {
  const batch = (text: number, full = false) =>
    ({ text: "x".repeat(text), next: full ? { conversation: "c", message: 0, offset: 0 } : null }) as Parameters<
      typeof nextStep
    >[0];
  assert.equal(nextStep(batch(31_000, true), "c9", 10_000, 50_000), 0, "full");
  assert.equal(nextStep(batch(10_000), null, 10_000, 50_000), 0, "the range is read");
  assert.equal(nextStep(batch(10_000), "c9", 10_000, READ_LIMIT_CHARS), 0, "the task has read its limit");
  // 8,000 of the stored figure became 16,000 characters of request: 16,000 of room, at half, plus a quarter.
  assert.equal(nextStep(batch(16_000), "c9", 8_000, 50_000), 10_000);
  assert.equal(nextStep(batch(31_900), "c9", 8_000, 50_000), MIN_STEP_CHARS, "never below the smallest step");
  assert.equal(nextStep(null, "c9", 8_000, 50_000), 16_000, "nothing sent yet: twice what was read");
  assert.equal(nextStep(batch(0), "c9", 0, 0), MIN_STEP_CHARS);
});

Deno.test("user characters from a cursor: a continuation's first conversation counts only what is left of it", () => {
  const c = extractionSource(stored("c1", ["a".repeat(800), "b".repeat(300), "c".repeat(40)]));
  const d = extractionSource(stored("c2", ["d".repeat(100)]));
  assert.equal(userCharsFrom([c, d], null), 500 + 300 + 40 + 100, "each message counted up to 500");
  // Messages alternate user/assistant: index 2 is the second user message.
  assert.equal(userCharsFrom([c, d], { conversation: "c1", message: 2, offset: 10 }), 300 + 40 + 100);
});

Deno.test("extraction plan: long messages are read about once, not once per request their window holds", () => {
  // 60 conversations of eight 3,000-character messages, each counted 500 in the stored figure: a
  // request holds about one conversation while a conversation counts 4,000. One window of four
  // requests' worth read 32 conversations per request.
  const convs = ids(60).map((id, i) =>
    extractionSource(stored(id, Array.from({ length: 8 }, (_, k) => prose(i * 10 + k, 3_000))))
  );
  const plan = extractionPlan(convs);
  const sent = new Set(plan.requests.flatMap((r) => r.conversationIds)).size;
  assert.equal(sent, 60);
  assert.ok(plan.reads <= 2 * plan.requests.length + 60, `${plan.reads} reads for ${plan.requests.length} requests`);
  // The requests are those of one pass over the range: reading in steps changes no request.
  const onePass = buildExtractionBatches(convs, { maxChars: MAX_REQUEST_CHARS, skip: {} }).filter((b) => b.text);
  assert.deepEqual(plan.requests.map((r) => r.text), onePass.map((b) => b.text));
});

Deno.test("extraction plan: a message repeated anywhere in the job is sent once, the first in id order", () => {
  const again = "I moved to Lisbon in March and I still love the light here.";
  const convs: SourceConversation[] = [
    extractionSource(stored("b", [again, "Something else entirely, about trains."])),
    extractionSource(stored("a", ["Hello there, a first message.", `  ${again}\n`])),
    extractionSource(stored("z", [again])),
  ];
  assert.deepEqual(repeatedUserMessages(convs), { b: [0], z: [0] });
  const plan = extractionPlan(convs);
  const sent = plan.requests.flatMap((r) => parseExtractionInput(r.text)).flatMap((c) => c.messages);
  assert.equal(sent.filter((m) => m.text.includes("Lisbon")).length, 1);
  // z had nothing new: it is not in any request.
  assert.deepEqual(plan.requests.flatMap((r) => r.conversationIds), ["a", "b"]);
});

Deno.test("ids are ordered by code point, as the database's C collation orders them", () => {
  assert.ok(compareIds("😀", "\uff5e") > 0, "an astral character sorts after U+FF5E (UTF-16 order says before)");
  assert.ok(compareIds("B", "a") < 0);
  assert.ok(compareIds("ab", "abc") < 0);
  assert.equal(compareIds("x-1", "x-1"), 0);
});

const TOKENS = (c: NeededCall) => c.inputTokens;

Deno.test("needed calls: quick pass, one per extraction request, memory, regenerate; tokens as the limiter estimates", () => {
  const convs = ids(80).map((id, i) => stored(id, [prose(i, 3000), prose(i + 500, 200)]));
  const calls = neededModelCalls(convs, { factBudgetTokens: 50_000 });
  const plan = extractionPlan(convs.map(extractionSource));
  assert.deepEqual(
    calls.map((c) => c.stage),
    ["quick_pass", ...plan.requests.map(() => "extract"), "memory", "regenerate"],
  );
  const extract = calls.filter((c) => c.stage === "extract");
  plan.requests.forEach((r, i) => {
    const req = factsPrompt(r.text);
    const chars = req.system.length + req.messages[0]!.content.length;
    assert.equal(extract[i]!.inputTokens, Math.ceil(chars / 4));
    assert.equal(extract[i]!.maxTokens, 4096);
  });
  // The sections calls carry the sampled conversations: regenerate's larger sample, plus MEMORY when given.
  const quick = calls[0]!, regen = calls.at(-1)!;
  assert.ok(quick.inputTokens > 10_000 && regen.inputTokens >= quick.inputTokens);
  const memoryMd = "## Preferences\n" + "- Likes long walks by the river at dawn.\n".repeat(200);
  const withMemory = neededModelCalls(convs, { factBudgetTokens: 50_000, memoryMd }).at(-1)!;
  assert.ok(TOKENS(withMemory) >= TOKENS(regen) + Math.floor(memoryMd.length / 4) - 1);
});

Deno.test("needed calls: consolidate's first reduce round when the deduplicated facts are over budget", () => {
  const convs = [stored("only", ["I build furniture out of reclaimed oak on weekends."])];
  const set = (n: number, tag: string): FactSet => ({
    preferences: Array.from({ length: n }, (_, i) => `prefers option ${tag}${i} for the kitchen`),
    projects: [],
    dates: [],
    beliefs: [`belief ${tag}`],
    decisions: [],
  });
  // 900 distinct preferences (plus the same 900 again: dedupe leaves 900) and 2 beliefs.
  const facts = [{ facts: set(900, "a"), date: null }, { facts: set(900, "a"), date: null }, {
    facts: set(0, "b"),
    date: null,
  }];
  const stages = (budget: number) =>
    neededModelCalls(convs, { factBudgetTokens: budget, facts }).map((c) => c.stage).filter((s) => s === "consolidate");
  assert.equal(stages(50_000).length, 0, "within budget: no reduce call");
  // Over budget: ceil(900 / 400) = 3 batches of preferences, 1 of beliefs.
  assert.equal(stages(1_000).length, 4);
  const memory = neededModelCalls(convs, { factBudgetTokens: 1_000, facts }).find((c) => c.stage === "memory")!;
  assert.ok(memory.inputTokens < 1_500, "MEMORY is written from facts within the budget");
});

Deno.test("ideal time: the binding one of latency over concurrency, requests per minute, tokens per minute", () => {
  const calls: NeededCall[] = Array.from(
    { length: 60 },
    () => ({ stage: "extract", inputTokens: 8_000, maxTokens: 4096 }),
  );
  const limits = { latencyMs: 800, concurrency: 6, rpm: 50, tpm: 100_000_000 };
  assert.equal(idealSeconds(calls, limits), 72); // 60 calls at 50 a minute
  assert.equal(idealSeconds(calls, { ...limits, rpm: 10_000 }), 8); // 60 x 0.8 s over 6 at once
  assert.equal(idealSeconds(calls, { ...limits, tpm: 240_000 }), 120); // 480,000 tokens at 240,000 a minute
});

Deno.test("repeats: a task keeps each text where the job claimed it, surrounding whitespace as trim() sees it", () => {
  // Messages are user/assistant pairs: the person's are at even indexes.
  const convs: SourceConversation[] = [
    extractionSource(stored("d2", ["\u00a0Hello there\t", "\u3000 "])),
    extractionSource(stored("d1", ["Hello there", "Only here."])),
    extractionSource(stored("d3", ["\ufeffHello there\u2028", "only here", "Only here."])),
  ];
  // First occurrences in id order; a message of only whitespace is nobody's.
  assert.deepEqual(Object.fromEntries(firstPersonMessages(convs)), {
    "Hello there": { conversation: "d1", index: 0 },
    "Only here.": { conversation: "d1", index: 2 },
    "only here": { conversation: "d3", index: 2 },
  });
  // Unclaimed elsewhere: each text is kept at its first occurrence here.
  assert.deepEqual(skipUnlessKept(convs, new Map()), { d2: [0], d3: [0, 4] });
  // Claimed by another range's conversation: every occurrence here is skipped.
  assert.deepEqual(skipUnlessKept(convs, new Map([["Hello there", { conversation: "x9", index: 0 }]])), {
    d1: [0],
    d2: [0],
    d3: [0, 4],
  });
});
