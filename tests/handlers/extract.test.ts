// extract on the in-memory store (no database): the fan-out, each repeated message read once
// (where its text is claimed), and a batch's facts stored on each conversation's first chunk.
import assert from "node:assert/strict";
import { OfflineProvider } from "../../shared/adapters/llm/offline.ts";
import { chunkStage } from "../../supabase/functions/chunk/handler.ts";
import { extractStage } from "../../supabase/functions/extract/handler.ts";
import { BLOCK_CHARS, READ_LIMIT_CHARS } from "../../shared/processors/extraction-input.ts";
import { MemoryStore } from "../_support/memory-store.ts";
import { conversations } from "./_people.ts";

const keepLease = () => Promise.resolve();

Deno.test("extract (fast): fan-out, then facts stored per conversation's first chunk", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  m.addConversations(job, conversations(120));
  await chunkStage().process(m.task(job.id, "chunk", "chunk:batch:0", { after: null, upto: null }), m.store);
  const stage = extractStage(new OfflineProvider());
  const startTask = m.task(job.id, "extract", "extract:start");
  const start = await stage.process(startTask, m.store, await stage.prepare(startTask, { store: m.store, keepLease }));
  assert.deepEqual(start.newTasks!.map((t) => [t.task_key, t.payload!.after, t.payload!.upto]), [
    ["extract:batch:0", null, "c099"],
    ["extract:batch:1", "c099", null],
  ]);
  assert.equal(start.newTasks![1]!.payload!.skip, undefined, "tasks claim their repeated messages themselves");
  assert.deepEqual(start.result, { ranges: 2 });

  const task = m.task(job.id, "extract", "extract:batch:0", start.newTasks![0]!.payload);
  const out = await stage.process(task, m.store, await stage.prepare(task, { store: m.store, keepLease }));
  const n = Number(out.counters!.fact_count);
  assert.ok(n > 0, "the offline analyser found facts");
  assert.equal(m.facts.length, n);
  const firstChunk = new Set(m.chunks.filter((c) => c.chunk_index === 0).map((c) => c.id));
  assert.ok(m.facts.every((f) => firstChunk.has(f.chunk_id) && f.source === "extract:batch:0"));
  assert.ok(m.facts.some((f) => /tea/i.test(JSON.stringify(f.fact))), JSON.stringify(m.facts.map((f) => f.fact)));

  // The same task again replaces its facts rather than adding to them.
  await stage.process(task, m.store, await stage.prepare(task, { store: m.store, keepLease }));
  assert.equal(m.facts.length, n);
});

Deno.test("extract (fast): a repeated message is read once, by the range that claims its text first, and again on retry", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  // conversations(120) opens every conversation with one of six statements (c000 and c006 alike, ...);
  // each one's third message is its own.
  m.addConversations(job, conversations(120));
  const stage = extractStage(new OfflineProvider());
  const startTask = m.task(job.id, "extract", "extract:start");
  const start = await stage.process(startTask, m.store, await stage.prepare(startTask, { store: m.store, keepLease }));
  const [t0, t1] = start.newTasks!.map((t) => m.task(job.id, "extract", t.task_key, t.payload));
  const sent = async (t: typeof t0) => (await stage.prepare(t!, { store: m.store, keepLease }))!.input!.user_messages;
  // The later range runs first: it claims the six statements (at c100-c105) and sends them.
  assert.equal(await sent(t1), 20 + 6);
  // The earlier range finds them claimed: only its 100 own messages go, on every retry too.
  assert.equal(await sent(t0), 100);
  assert.equal(await sent(t0), 100);
  assert.equal(await sent(t1), 26, "the claiming range keeps its claims when it runs again");
  assert.deepEqual(
    [...m.firstMessages.get(job.id)!.values()].filter((a) => a.index === 0).map((a) => a.conversation).sort(),
    ["c100", "c101", "c102", "c103", "c104", "c105"],
  );
});

Deno.test("extract (fast): a task reads on while its request has room, so cut text does not end a request early", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  // Six conversations that each say one thing 60 times (counted as 60 x 500 = 30,000 characters
  // of the person's text each, but sent once each: a repeat is cut).
  const base = conversations(6);
  m.addConversations(
    job,
    base.map((c, d) => ({
      ...c,
      id: `h${d}`,
      messages: Array.from({ length: 60 }, () => ({
        role: "user" as const,
        content: `Day ${d}: ${"I keep bees on the roof of the community garden. ".repeat(13)}`,
        created_at: null,
      })),
    })),
  );
  const stage = extractStage(new OfflineProvider());
  const t = m.task(job.id, "extract", "extract:batch:0", { after: null, upto: null });
  const out = await stage.process(t, m.store, await stage.prepare(t, { store: m.store, keepLease }));
  // The first step reads h0 (the next starts at 30,000, past a step's 8,000); its request has
  // room, so the task reads on: all six in one request, and nothing is left for another task.
  assert.equal((out.result!.input as { user_messages: number }).user_messages, 6);
  assert.deepEqual(out.newTasks, [], "the range is done");
});

Deno.test("extract (fast): a task reads at most its limit and the next task goes on where it stopped", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  // Six conversations of one short message each and a 500,000-character answer: the person's
  // text would fit one request, the stored text is 3 M characters.
  m.addConversations(
    job,
    conversations(6).map((c, d) => ({
      ...c,
      id: `h${d}`,
      messages: [
        { role: "user" as const, content: `Day ${d}: what should I plant along the north fence?`, created_at: null },
        { role: "assistant" as const, content: "a".repeat(500_000), created_at: null },
      ],
    })),
  );
  assert.equal(READ_LIMIT_CHARS, 2_000_000);
  const stage = extractStage(new OfflineProvider());
  const run = async (payload: Record<string, unknown>, key = "extract:batch:0") => {
    const t = m.task(job.id, "extract", key, payload);
    return await stage.process(t, m.store, await stage.prepare(t, { store: m.store, keepLease }));
  };
  const first = await run({ after: null, upto: null });
  // h0-h3 start under 2 M stored characters; h4 is left for the next task.
  assert.equal((first.result!.input as { user_messages: number }).user_messages, 4);
  assert.deepEqual(first.newTasks!.map((t) => [t.task_key, t.payload!.from]), [
    ["extract:batch:0:part:1", { conversation: "h4", message: 0, offset: 0 }],
  ]);
  const second = await run(first.newTasks![0]!.payload!, first.newTasks![0]!.task_key);
  assert.equal((second.result!.input as { user_messages: number }).user_messages, 2);
  assert.deepEqual(second.newTasks, [], "the range is done");
});

Deno.test("extract (fast): a message of several blocks goes out in a chain of tasks, each resuming inside its block", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  // One message of ~3 blocks of the person's own paragraphs: every word of it must be sent, once.
  const paragraphs = Array.from(
    { length: 2_000 },
    (_, i) => `Note ${i}: today I repotted the fig, called my brother in Lyon and read forty pages of the novel.`,
  );
  const text = paragraphs.join("\n\n").repeat(4);
  assert.ok(text.length > 2.5 * BLOCK_CHARS);
  m.addConversations(job, [{
    ...conversations(1)[0]!,
    id: "long",
    messages: [{ role: "user" as const, content: text, created_at: null }],
  }]);
  const stage = extractStage(new OfflineProvider());
  let payload: Record<string, unknown> | undefined = { after: null, upto: null }, key = "extract:batch:0";
  let sent = 0, tasks = 0;
  const blocks = new Set<number>();
  while (payload) {
    const t = m.task(job.id, "extract", key, payload);
    const out = await stage.process(t, m.store, await stage.prepare(t, { store: m.store, keepLease }));
    sent += (out.result!.input as { user_chars: number }).user_chars;
    assert.ok(++tasks < 200, "the chain ends");
    const next = out.newTasks?.[0];
    ((payload = next?.payload), (key = next?.task_key ?? ""));
    blocks.add(((payload?.from as { block?: number } | undefined)?.block) ?? 0);
  }
  // Blocks are trimmed at their ends, so a few whitespace characters at each boundary are not sent.
  assert.ok(text.length - sent < 10 && sent <= text.length, `${sent} of ${text.length}`);
  assert.ok(tasks >= text.length / 32_000, `${tasks} tasks`);
  assert.ok(blocks.has(1) && blocks.has(2), "continuations carry the block they resume in");
});
