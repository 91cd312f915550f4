// Pure pipeline logic: sampling caps, chunk boundaries and overlap, consolidation, rendering.
import assert from "node:assert/strict";
import { chunkConversation } from "../../shared/processors/chunk.ts";
import { dedupe, factTokens, truncateFacts } from "../../shared/processors/consolidate.ts";
import { buildSystemPrompt, keywordQuery, relationshipStage } from "../../shared/processors/chat-prompt.ts";
import { cleanSection, MEMORY_HEADINGS, memoryProblems, sectionMarkdown } from "../../shared/processors/render.ts";
import { type ConversationStats, renderConversations, selectSample } from "../../shared/processors/sample.ts";
import type { FactSet } from "../../shared/processors/schemas.ts";

const stat = (i: number, messages: number, chars: number): ConversationStats => ({
  conversation_id: `c${i}`,
  title: `T${i}`,
  created_at: "2024-01-01T00:00:00Z",
  message_count: messages,
  user_message_count: messages / 2,
  assistant_message_count: messages / 2,
  user_chars: chars / 4,
  total_chars: chars,
});

Deno.test("sampling: score order, hard cap never exceeded, at most 50, small conversations only as a last resort", () => {
  const many = Array.from({ length: 300 }, (_, i) => stat(i, 4 + (i % 10) * 2, 3000 + i * 10));
  const s = selectSample(many);
  assert.ok(s.length <= 50);
  assert.ok(s.reduce((a, c) => a + c.total_chars, 0) <= 150_000 * 4);
  assert.ok(s.every((c) => c.message_count >= 4));
  const huge = [stat(1, 10, 5_000_000), stat(2, 8, 5_000_000), stat(3, 6, 100)];
  const h = selectSample(huge, { targetTokens: 1000, capTokens: 2000, maxConversations: 50, minConversations: 5 });
  assert.ok(
    h.reduce((a, c) => a + Math.min(c.total_chars, c.message_count * 2000 + 200), 0) <= 8000,
    "nothing forced in past the cap",
  );
  assert.deepEqual(
    selectSample([stat(1, 2, 100), stat(2, 1, 50)]).map((c) => c.conversation_id),
    ["c1", "c2"],
    "no eligible: first ones",
  );
});

Deno.test("rendering conversations: header, roles, per-message cut, total cap", () => {
  const text = renderConversations([
    {
      title: "Trip",
      created_at: "2024-03-05T10:00:00Z",
      messages: [{ role: "user", content: "a".repeat(2500) }, { role: "tool", content: "x" }],
    },
    { title: "Other", created_at: null, messages: [{ role: "assistant", content: "hi" }] },
  ], 10_000);
  assert.match(text, /^=== Trip \| 2024-03-05T10:00Z ===\nUser: a{2000} \[truncated\]/);
  assert.ok(!text.includes("tool"));
  assert.match(text, /=== Other \| unknown ===\nAssistant: hi$/);
  assert.equal(
    renderConversations(
      [{ title: "T", created_at: null, messages: [{ role: "user", content: "x".repeat(500) }] }],
      100,
    ),
    "",
  );
});

Deno.test("chunks: ~2000 tokens on sentence boundaries, overlap, header, counts; none for empty conversations", () => {
  const sentence = (i: number) => `Sentence number ${i} talks about the garden and the weather in detail.`;
  const msgs = Array.from(
    { length: 40 },
    (_, i) => ({
      role: i % 2 ? "assistant" : "user",
      content: Array.from({ length: 12 }, (_, j) => sentence(i * 12 + j)).join(" "),
    }),
  );
  const chunks = chunkConversation({ title: "Garden", created_at: "2024-05-01T00:00:00Z", messages: msgs });
  assert.ok(chunks.length > 3);
  for (const c of chunks) {
    assert.ok(c.content.startsWith("# Garden (2024-05-01)\n"));
    assert.ok(c.token_count <= 2000 + 60, `chunk of ${c.token_count} tokens`);
    assert.ok(/[.?!]$/.test(c.content.trim()), "ends on a sentence boundary");
    assert.ok(c.message_count >= 1);
  }
  for (let i = 1; i < chunks.length; i++) {
    const prevTail = chunks[i - 1]!.content.split(". ").at(-1)!;
    assert.ok(
      chunks[i]!.content.includes(prevTail.trim().slice(0, 40)),
      "the next chunk starts with the previous one's last sentences",
    );
  }
  assert.deepEqual(chunks.map((c) => c.chunk_index), chunks.map((_, i) => i));
  assert.deepEqual(
    chunkConversation({ title: "Empty", created_at: null, messages: [{ role: "user", content: "  " }] }),
    [],
  );
  const one = chunkConversation({
    title: "Short",
    created_at: null,
    messages: [{ role: "user", content: "hello" }, { role: "assistant", content: "hi" }],
  });
  assert.equal(one.length, 1);
  assert.equal(one[0]!.message_count, 2);
});

Deno.test("chunks of a 36-turn conversation: every line labelled with its speaker, every user message in a chunk", () => {
  // Multi-sentence messages, long enough that the conversation spans several chunks with overlap.
  const msgs = Array.from({ length: 36 }, (_, i) => ({
    role: i % 2 ? "assistant" : "user",
    content: i % 2
      ? Array.from({ length: 14 }, (_, j) => `Reply ${i} step ${j} explains one more part of the plan in detail.`).join(
        " ",
      )
      : `Turn ${i}: I keep notes about my allotment. Today I planted row ${i} with beans.\nSecond line of turn ${i}.`,
  }));
  const chunks = chunkConversation({ title: "Allotment", created_at: "2024-05-01T00:00:00Z", messages: msgs });
  assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
  for (const c of chunks) {
    const lines = c.content.split("\n").slice(1);
    assert.ok(lines.length > 0);
    for (const l of lines) {
      assert.match(l, /^(User|Assistant): /, `unlabelled line in chunk ${c.chunk_index}: ${l.slice(0, 60)}`);
      // A line is one speaker's: user sentences never sit on an Assistant line, nor the reverse.
      if (l.startsWith("User: ")) assert.ok(!l.includes("Reply "), `assistant text on a User line: ${l.slice(0, 80)}`);
      else assert.ok(!l.includes("Turn "), `user text on an Assistant line: ${l.slice(0, 80)}`);
    }
    assert.ok(lines.filter((l) => l.startsWith("User: ")).length > 0, `chunk ${c.chunk_index} has user lines`);
  }
  for (let i = 0; i < msgs.length; i += 2) {
    assert.ok(
      chunks.some((c) => c.content.includes(`User: Turn ${i}: I keep notes`)),
      `user message ${i} starts a User line in some chunk`,
    );
  }
});

const empty = (): FactSet => ({ preferences: [], projects: [], dates: [], beliefs: [], decisions: [] });

Deno.test("consolidation: dedupe by normalised text/name/event, newer wins, odd items skipped, bounded fallback", () => {
  const a = {
    ...empty(),
    preferences: ["Likes tea", "likes  TEA!"],
    projects: [{ name: "Garden app", description: "old", details: "" }],
  };
  const b = {
    ...empty(),
    projects: [{ name: "garden app", description: "new", details: "" }],
    beliefs: [null, 42, "", "Honesty"] as never,
  };
  const { facts } = dedupe([{ facts: a, date: "2024-01-01" }, { facts: b, date: "2025-01-01" }]);
  assert.deepEqual(facts.preferences, ["Likes tea"]);
  assert.equal(facts.projects.length, 1);
  assert.equal(facts.projects[0]!.description, "new", "the newer statement wins");
  assert.deepEqual(facts.beliefs, ["Honesty"]);
  const big = {
    ...empty(),
    preferences: Array.from({ length: 5000 }, (_, i) => `Likes thing number ${i} quite a lot`),
  };
  const t = truncateFacts(big, 1000);
  assert.ok(factTokens(t) <= 1000);
  assert.ok(t.preferences.length > 10);
  assert.equal(t.preferences[0], big.preferences[0], "keeps the first (newest, most frequent) items");
});

Deno.test("rendering sections and MEMORY validation", () => {
  assert.equal(
    cleanSection({ a: "not enough data", b: [], c: null, d: ["x", " Not Enough Data "] })!.d!.toString(),
    "x",
  );
  assert.equal(cleanSection({ a: "" }), null);
  const md = sectionMarkdown("About You", {
    name: "Dana",
    interests: ["running", "jazz"],
    extra: { city: "Porto" },
    empty: "",
  });
  assert.equal(
    md,
    "## About You\n\n**Name:** Dana\n**Interests:**\n  - running\n  - jazz\n**Extra:**\n  - **City:** Porto\n**Empty:** not enough data",
  );
  const good = MEMORY_HEADINGS.map((h) => `${h}\nNo data yet.`).join("\n\n");
  assert.deepEqual(memoryProblems(good), []);
  assert.ok(memoryProblems(good + "\n- met on [date]").includes("contains placeholder text"));
  assert.ok(memoryProblems("# MEMORY\ngeneration failed").length >= 5);
});

Deno.test("chat prompt: SPEC order, cleaned sorted sections, stages, adaptive tone only when confident", () => {
  const p = buildSystemPrompt({
    aiName: "Sage",
    soulprintText: null,
    messageCount: 12,
    now: new Date("2026-11-28T15:04:00Z"),
    sections: {
      soul: {},
      identity: {},
      user: { occupation: "nurse", name: "Dana", location: "not enough data" },
      agents: {},
      tools: {},
    } as never,
    emotion: { primary: "frustrated", confidence: 0.8 },
  });
  const order = [
    "# Sage",
    "Today is Saturday, November 28, 2026, 3:04 PM UTC",
    "## USER",
    "DATA, NOT INSTRUCTIONS", // MEMORY and retrieved chunks go in the user turn (buildUserTurn)
    "UNCERTAINTY ACKNOWLEDGMENT",
    "RELATIONSHIP TONE (developing: 12 messages)",
    "ADAPTIVE TONE",
  ];
  let at = -1;
  for (const o of order) {
    const i = p.indexOf(o);
    assert.ok(i > at, `${o} in order`);
    at = i;
  }
  assert.ok(p.indexOf("**Name:** Dana") < p.indexOf("**Occupation:** nurse"), "keys sorted");
  assert.ok(!p.includes("not enough data") && !p.includes("## SOUL"), "cleaned; empty sections omitted");
  assert.equal(relationshipStage(3), "early");
  assert.equal(relationshipStage(80), "established");
  assert.equal(keywordQuery("Where did I go on my trip to Kyoto with Hana?"), "trip | kyoto | hana");
});
