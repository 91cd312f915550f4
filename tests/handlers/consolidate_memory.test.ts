// consolidate and memory on the in-memory store (no database): the job's facts deduplicated and
// staged, then MEMORY written from them, or recorded as degraded after its last invalid attempt.
import assert from "node:assert/strict";
import { OfflineProvider } from "../../shared/adapters/llm/offline.ts";
import type { LlmProvider, LlmRequest } from "../../shared/adapters/llm/types.ts";
import { consolidateStage } from "../../supabase/functions/consolidate/handler.ts";
import { MEMORY_ATTEMPTS, memoryStage } from "../../supabase/functions/memory/handler.ts";
import { PipelineError } from "../../shared/processors/errors.ts";
import { MemoryStore } from "../_support/memory-store.ts";
import { conversations } from "./_people.ts";
import { chunkStage } from "../../supabase/functions/chunk/handler.ts";

const keepLease = () => Promise.resolve();
const facts = (o: { preferences?: string[]; beliefs?: string[] }) => ({
  preferences: o.preferences ?? [],
  projects: [],
  dates: [],
  beliefs: o.beliefs ?? [],
  decisions: [],
});

async function withFacts() {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  m.addConversations(job, conversations(3));
  await chunkStage().process(m.task(job.id, "chunk", "chunk:batch:0", { after: null, upto: null }), m.store);
  const first = await m.store.chunks.firstChunks(job.id, ["c000", "c001", "c002"]);
  await m.store.facts.replace(job, "extract:batch:0", [
    { chunk_id: first.get("c000")!, conversation_id: "c000", date: null, facts: facts({ preferences: ["Green tea"] }) },
    {
      chunk_id: first.get("c001")!,
      conversation_id: "c001",
      date: "2026-06-29T12:00:00.000Z",
      facts: facts({ preferences: ["green tea"], beliefs: ["Learning a language takes daily practice"] }),
    },
  ]);
  return { m, job };
}

Deno.test("consolidate (fast): the job's facts are deduplicated and staged for MEMORY", async () => {
  const { m, job } = await withFacts();
  const stage = consolidateStage(new OfflineProvider());
  const task = m.task(job.id, "consolidate", "consolidate:start");
  const out = await stage.process(task, m.store, await stage.prepare(task, { store: m.store, keepLease }));
  const staged = await m.store.artifacts.stagedFacts(job.id);
  assert.ok(staged);
  assert.equal(staged.preferences.length, 1, `the same preference said twice is kept once: ${staged.preferences}`);
  assert.match(staged.preferences[0]!, /green tea/i);
  assert.equal(staged.beliefs.length, 1);
  assert.equal(out.result!.depth, 0, "within budget: no reduce round");
});

Deno.test("memory (fast): MEMORY from the staged facts is validated and staged", async () => {
  const { m, job } = await withFacts();
  const c = consolidateStage(new OfflineProvider());
  const ct = m.task(job.id, "consolidate", "consolidate:start");
  await c.process(ct, m.store, await c.prepare(ct, { store: m.store, keepLease }));

  const stage = memoryStage(new OfflineProvider());
  const task = m.task(job.id, "memory", "memory:start");
  const out = await stage.process(task, m.store, await stage.prepare(task, { store: m.store, keepLease }));
  const staged = await m.store.artifacts.stagedMemory(job.id);
  assert.equal(staged?.memory_status, "ready");
  assert.match(staged!.memory_md!, /green tea/i);
  assert.equal(out.result!.valid, true);
});

Deno.test("memory (fast): an invalid MEMORY fails retriably, then is recorded as degraded on the last attempt", async () => {
  const { m, job } = await withFacts();
  const seen: LlmRequest[] = [];
  const unusable: LlmProvider = {
    name: "unusable",
    model: "returns-prose",
    complete: (req) => {
      seen.push(req);
      return Promise.resolve({
        text: "Here is a summary of the person.",
        usage: { input_tokens: 10, output_tokens: 10 },
        provider: "unusable",
        model: "returns-prose",
        latencyMs: 1,
        costUsd: 0,
        calls: 1,
      });
    },
  };
  const stage = memoryStage(unusable);
  await assert.rejects(
    stage.prepare(m.task(job.id, "memory", "memory:start", {}, 1), { store: m.store, keepLease }),
    (e) => e instanceof PipelineError && e.code === "LLM_OUTPUT_INVALID" && e.retriable,
  );
  assert.equal(await m.store.artifacts.stagedMemory(job.id), null, "nothing staged before the last attempt");
  const last = m.task(job.id, "memory", "memory:start", {}, MEMORY_ATTEMPTS);
  const out = await stage.process(last, m.store, await stage.prepare(last, { store: m.store, keepLease }));
  assert.deepEqual(await m.store.artifacts.stagedMemory(job.id), {
    memory_md: null,
    memory_status: "degraded",
    memory_error_code: "MEMORY_INVALID",
  });
  assert.equal(out.result!.valid, false);
  assert.equal(seen.length, 2);
});
