// extract on the in-memory store (no database): the fan-out carries the job's repeated messages,
// and a batch stores the facts the model found on each conversation's first chunk.
import assert from "node:assert/strict";
import { OfflineProvider } from "../../shared/adapters/llm/offline.ts";
import { chunkStage } from "../../supabase/functions/chunk/handler.ts";
import { extractStage } from "../../supabase/functions/extract/handler.ts";
import { MemoryStore } from "../_support/memory-store.ts";
import { conversations } from "./_people.ts";

const keepLease = () => Promise.resolve();

Deno.test("extract (fast): fan-out with repeated messages, then facts stored per conversation's first chunk", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  m.addConversations(job, conversations(60));
  await chunkStage().process(m.task(job.id, "chunk", "chunk:batch:0", { after: null, upto: null }), m.store);
  const stage = extractStage(new OfflineProvider());
  const startTask = m.task(job.id, "extract", "extract:start");
  const start = await stage.process(startTask, m.store, await stage.prepare(startTask, { store: m.store, keepLease }));
  assert.deepEqual(start.newTasks!.map((t) => [t.task_key, t.payload!.after, t.payload!.upto]), [
    ["extract:batch:0", null, "c049"],
    ["extract:batch:1", "c049", null],
  ]);
  // conversations(60) repeats its six opening statements every six conversations.
  assert.deepEqual((start.newTasks![1]!.payload!.skip as Record<string, number[]>).c050, [0]);

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

Deno.test("extract (fast): a plan whose repeated messages could not be found in time still covers every range", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  m.addConversations(job, conversations(60));
  // The store's answer when the comparison ran past its time (a very large export).
  const store = {
    ...m.store,
    conversations: { ...m.store.conversations, repeatedUserMessages: () => Promise.resolve(null) },
  };
  const stage = extractStage(new OfflineProvider());
  const startTask = m.task(job.id, "extract", "extract:start");
  const start = await stage.process(startTask, store, await stage.prepare(startTask, { store, keepLease }));
  assert.deepEqual(start.newTasks!.map((t) => [t.task_key, t.payload!.skip]), [
    ["extract:batch:0", {}],
    ["extract:batch:1", {}],
  ]);
  assert.deepEqual(start.result, { ranges: 2, repeats_filtered: false });
});
