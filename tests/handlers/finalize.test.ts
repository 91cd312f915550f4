// finalize on the in-memory store (no database): the generation swap (profile, totals, older rows
// deleted) and the completion notification, and a finalize without staged sections changing nothing.
import assert from "node:assert/strict";
import { importCost } from "../../shared/processors/cost-report.ts";
import { SectionsSchema } from "../../shared/processors/schemas.ts";
import { PipelineError } from "../../shared/processors/errors.ts";
import { chunkStage } from "../../supabase/functions/chunk/handler.ts";
import { finalizeStage } from "../../supabase/functions/finalize/handler.ts";
import { MemoryStore } from "../_support/memory-store.ts";
import { conversations } from "./_people.ts";

const sections = SectionsSchema.parse({
  soul: {},
  identity: { ai_name: "Wren", archetype: "The Maker" },
  user: { name: "Sam" },
  agents: {},
  tools: {},
});

/** A person whose first import (A) is current, and a finished re-import (B) with staged documents. */
async function reimport() {
  const m = new MemoryStore();
  const a = m.addJob("user-1");
  m.addConversations(a, conversations(5));
  await chunkStage().process(m.task(a.id, "chunk", "chunk:batch:0", { after: null, upto: null }), m.store);
  await m.store.generations.swap(a, { ai_name: "Atlas", import_status: "complete" });
  await m.store.artifacts.stageMemory(a.id, { memory_md: "old", memory_status: "ready", memory_error_code: null });
  const b = m.addJob("user-1", {
    totals: {
      conversation_count: 3,
      message_count: 12,
      chunk_count: 3,
      fact_count: 7,
      cost: { extract: { usd: 0.25 } },
    },
  });
  m.addConversations(b, conversations(3));
  await chunkStage().process(m.task(b.id, "chunk", "chunk:batch:0", { after: null, upto: null }), m.store);
  return { m, a, b };
}

Deno.test("finalize (fast): the re-import becomes current with its staged SoulPrint; the older rows go", async () => {
  const { m, a, b } = await reimport();
  await m.store.artifacts.stageSections(b.id, {
    sections,
    generated_by: "offline/offline-extractive-1",
    sections_source: "regenerate",
    generated_at: "2026-07-01T00:00:00.000Z",
  });
  await m.store.artifacts.stageMemory(b.id, {
    memory_md: "## Identity\n- Sam",
    memory_status: "ready",
    memory_error_code: null,
  });
  const out = await finalizeStage(false).process(m.task(b.id, "finalize", "finalize:start"), m.store);

  const p = m.profiles.get("user-1")!;
  assert.equal(p.generation_id, b.id);
  assert.equal(p.ai_name, "Wren");
  assert.equal(p.archetype, "The Maker");
  assert.deepEqual(p.sections, sections);
  assert.equal(p.memory_md, "## Identity\n- Sam");
  assert.equal(p.memory_status, "ready");
  assert.equal(p.sections_source, "regenerate");
  assert.equal(p.import_status, "complete");
  assert.equal(p.full_pass_status, "complete");
  assert.equal(p.total_conversations, 3);
  assert.equal(p.total_facts, 7);
  assert.deepEqual(p.import_cost_json, importCost({ extract: { usd: 0.25 } }), "the job's cost counters");
  assert.equal(JSON.parse(JSON.stringify(p.import_cost_json)).total_cost_usd, 0.25);
  assert.deepEqual(out.result, {
    dropped: { facts: 0, chunks: 5, conversations: 5 },
    notification: "skipped",
  });
  assert.ok(m.conversations.every((c) => c.job_id === b.id), "only the new generation's conversations are left");
  assert.ok(m.chunks.every((c) => c.job_id === b.id));
  assert.equal(await m.store.artifacts.stagedMemory(a.id), null);
  assert.ok(m.skippedNotifications.has(b.id));
});

Deno.test("finalize (fast): with a webhook configured the completion is queued once", async () => {
  const { m, b } = await reimport();
  await m.store.artifacts.stageSections(b.id, {
    sections,
    generated_by: "offline/offline-extractive-1",
    sections_source: "quick_pass",
    generated_at: "2026-07-01T00:00:00.000Z",
  });
  const task = m.task(b.id, "finalize", "finalize:start");
  assert.equal((await finalizeStage(true).process(task, m.store)).result!.notification, "queued");
  await finalizeStage(true).process(task, m.store); // a retried finalize
  assert.deepEqual(m.deliveries.get(b.id), {
    type: "import.completed",
    job_id: b.id,
    user_id: "user-1",
    soulprint_ready: true,
    conversations: 3,
    messages: 12,
    chunks: 3,
    facts: 7,
  });
  assert.equal(m.profiles.get("user-1")!.memory_status, "none", "no MEMORY staged (a v1 import)");
});

Deno.test("finalize (fast): without staged sections it fails and the current SoulPrint stays", async () => {
  const { m, a, b } = await reimport();
  await assert.rejects(
    finalizeStage(false).process(m.task(b.id, "finalize", "finalize:start"), m.store),
    (e) => e instanceof PipelineError && e.code === "INTERNAL" && /without sections/.test(e.message),
  );
  assert.equal(m.profiles.get("user-1")!.generation_id, a.id);
  assert.equal(m.conversations.filter((c) => c.job_id === a.id).length, 5);
});
