// chunk and embed on the in-memory store (no database): the fan-out, the chunks each batch
// writes, a retried batch leaving the same rows, and the vectors embed stores.
import assert from "node:assert/strict";
import { OfflineEmbedder } from "../../shared/adapters/embedder.ts";
import type { TaskCompletion } from "../../shared/adapters/tasks.ts";
import { CHUNK_TASK_CHARS, chunkStage, LONG_PART_CHARS, partOf } from "../../supabase/functions/chunk/handler.ts";
import { chunkConversation } from "../../shared/processors/chunk.ts";
import { messageFigures } from "../../shared/processors/sample.ts";
import { embedStage } from "../../supabase/functions/embed/handler.ts";
import { MemoryStore } from "../_support/memory-store.ts";
import { conversations } from "./_people.ts";

const keepLease = () => Promise.resolve();

Deno.test("chunk (fast): one task per 100 conversations, each writing its conversations' chunks once", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1", { created_at: "2026-07-01T00:00:00.000Z" });
  m.addConversations(job, conversations(250)); // c000 (newest) .. c249, one a day back
  const stage = chunkStage();
  const start = await stage.process(m.task(job.id, "chunk", "chunk:start"), m.store);
  assert.deepEqual(start.newTasks, [
    { task_key: "chunk:batch:0", payload: { after: null, upto: "c099" } },
    { task_key: "chunk:batch:1", payload: { after: "c099", upto: "c199" } },
    { task_key: "chunk:batch:2", payload: { after: "c199", upto: null } },
  ]);

  const outs: TaskCompletion[] = [];
  for (const t of start.newTasks!) {
    outs.push(await stage.process(m.task(job.id, "chunk", t.task_key, t.payload), m.store));
  }
  assert.equal(new Set(m.chunks.map((c) => c.conversation_id)).size, 250, "every conversation chunked");
  assert.equal(outs.reduce((n, o) => n + Number(o.counters?.chunk_count), 0), m.chunks.length);
  const c000 = m.chunks.find((c) => c.conversation_id === "c000")!;
  assert.match(c000.content, /Sam Okafor/);
  assert.equal(c000.is_recent, true);
  assert.equal(m.chunks.find((c) => c.conversation_id === "c200")!.is_recent, false, "over 180 days before the import");

  // A retried batch leaves the same rows (same ids: upserted on the natural key).
  const before = m.chunks.map((c) => c.id).sort();
  await stage.process(m.task(job.id, "chunk", "chunk:batch:1", start.newTasks![1]!.payload), m.store);
  assert.deepEqual(m.chunks.map((c) => c.id).sort(), before);
});

Deno.test("chunk (fast): long conversations get ranges of about CHUNK_TASK_CHARS, not 100 of them", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1", { created_at: "2026-07-01T00:00:00.000Z" });
  // 30 conversations of ~220,000 characters (long answers, pasted code): 100 of them would be
  // 22 M characters for one invocation.
  const long = conversations(30).map((c) => ({
    ...c,
    messages: c.messages.map((msg) => ({ ...msg, content: `${msg.content} ${"word ".repeat(11_000)}` })),
  }));
  m.addConversations(job, long);
  const stage = chunkStage();
  const start = await stage.process(m.task(job.id, "chunk", "chunk:start"), m.store);
  const perTask = Math.floor(CHUNK_TASK_CHARS / 220_000) + 1; // the characters before the last one are under the bound
  assert.ok(start.newTasks!.length <= Math.ceil(30 / (perTask - 1)), `${start.newTasks!.length} tasks`);
  let done = 0;
  for (const t of start.newTasks!) {
    const range = t.payload as { after: string | null; upto: string | null };
    const inRange = long.filter((c) =>
      (range.after === null || c.id > range.after) && (range.upto === null || c.id <= range.upto)
    );
    assert.ok(inRange.length <= perTask, `${t.task_key}: ${inRange.length} conversations`);
    await stage.process(m.task(job.id, "chunk", t.task_key, t.payload), m.store);
    done += inRange.length;
  }
  assert.equal(done, 30);
  assert.equal(new Set(m.chunks.map((c) => c.conversation_id)).size, 30, "every conversation chunked");
});

Deno.test("chunk (fast): a conversation longer than a task is written in parts, as one pass would", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1", { created_at: "2026-07-01T00:00:00.000Z" });
  const [first, ...rest] = conversations(5);
  // ~2.6 M characters: 400 messages of varied sentences (the chunk boundaries fall mid-message).
  const giant = {
    ...first!,
    messages: Array.from({ length: 400 }, (_, i) => ({
      role: i % 2 ? "assistant" as const : "user" as const,
      content: Array.from({ length: 130 }, (_, k) => `Sentence ${k} of message ${i} about the garden plan.`).join(" "),
      created_at: null,
    })),
  };
  m.addConversations(job, [giant, ...rest]);
  const stage = chunkStage();
  const start = await stage.process(m.task(job.id, "chunk", "chunk:start"), m.store);
  const parts = start.newTasks!.filter((t) => t.task_key.startsWith("chunk:long:"));
  const total = messageFigures(giant.messages).total_chars;
  assert.equal(parts.length, Math.ceil(total / LONG_PART_CHARS));
  assert.deepEqual(parts[0]!.payload, { conversation: giant.id, part: 0, parts: parts.length });
  // Parts in any order, one retried: the same chunks as cutting the conversation in one pass.
  const order = [...start.newTasks!].reverse();
  for (const t of [...order, parts[1]!]) await stage.process(m.task(job.id, "chunk", t.task_key, t.payload), m.store);
  const written = m.chunks.filter((c) => c.conversation_id === giant.id).sort((a, b) => a.chunk_index - b.chunk_index);
  const whole = chunkConversation(giant);
  assert.deepEqual(written.map((c) => [c.chunk_index, c.content]), whole.map((c) => [c.chunk_index, c.content]));
  assert.equal(new Set(m.chunks.map((c) => c.conversation_id)).size, 5, "the other conversations by their range");
  // The parts cover every chunk once, however the count divides.
  for (const [count, n] of [[1279, 6], [5, 7], [100, 3]] as const) {
    const got = Array.from({ length: n }, (_, k) => partOf(count, k, n));
    assert.equal(got[0]!.from, 0);
    assert.equal(got.at(-1)!.to, count);
    got.slice(1).forEach((p, k) => assert.equal(p.from, got[k]!.to));
  }
});

Deno.test("embed (fast): the start task checks the dimension and fans out; a batch stores a vector per chunk", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  m.addConversations(job, conversations(30));
  await chunkStage().process(m.task(job.id, "chunk", "chunk:batch:0", { after: null, upto: null }), m.store);
  const stage = embedStage(new OfflineEmbedder());
  const startTask = m.task(job.id, "embed", "embed:start");
  const start = await stage.process(startTask, m.store, await stage.prepare(startTask, { store: m.store, keepLease }));
  assert.equal(start.newTasks!.length, 1);

  const task = m.task(job.id, "embed", "embed:batch:0", start.newTasks![0]!.payload);
  const out = await stage.process(task, m.store, await stage.prepare(task, { store: m.store, keepLease }));
  assert.equal(out.counters?.embedding_count, m.chunks.length);
  assert.ok(m.chunks.every((c) => c.embedding?.length === 768 && c.embedding_model === "offline-hash-1"));
  // Run again: nothing left to embed.
  const again = await stage.process(task, m.store, await stage.prepare(task, { store: m.store, keepLease }));
  assert.equal(again.counters?.embedding_count, 0);

  const narrow = embedStage(new OfflineEmbedder(384));
  await assert.rejects(
    async () => narrow.process(startTask, m.store, await narrow.prepare(startTask, { store: m.store, keepLease })),
    /384-d vectors; the schema stores 768/,
  );
});
