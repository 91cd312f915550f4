// quick-pass on the in-memory store (no database): what it stages, and what the profile takes on
// a first import and on a re-import.
import assert from "node:assert/strict";
import { OfflineProvider } from "../../shared/adapters/llm/offline.ts";
import { quickPassStage } from "../../supabase/functions/quick-pass/handler.ts";
import { MemoryStore } from "../_support/memory-store.ts";
import { conversations } from "./_people.ts";

const keepLease = () => Promise.resolve();

async function run(m: MemoryStore, jobId: string) {
  const stage = quickPassStage(new OfflineProvider());
  const task = m.task(jobId, "quick_pass", "quick_pass:start");
  const pre = await stage.prepare(task, { store: m.store, keepLease });
  return await stage.process(task, m.store, pre);
}

Deno.test("quick-pass (fast): a first import stages its sections and the profile takes them at once", async () => {
  const m = new MemoryStore();
  const job = m.addJob("user-1");
  m.addConversations(job, conversations(12));
  const out = await run(m, job.id);

  const staged = await m.store.artifacts.stagedSections(job.id);
  assert.ok(staged, "sections staged for finalize");
  assert.equal(staged.sections_source, "quick_pass");
  assert.equal(staged.generated_by, "offline/offline-extractive-1");
  const p = m.profiles.get("user-1")!;
  assert.equal(p.generation_id, job.id, "a first import becomes the current generation");
  assert.equal(p.import_status, "quick_ready");
  assert.equal(p.full_pass_status, "processing");
  assert.equal(p.sections_source, "quick_pass");
  assert.deepEqual(p.sections, staged.sections);
  assert.equal(p.ai_name, staged.sections.identity.ai_name);
  assert.deepEqual(out.result, {
    sampled: 12,
    chars: out.result!.chars,
    ai_name: staged.sections.identity.ai_name,
    first_generation: true,
    window: null, // past ingest: the whole export was sampled
  });
  assert.ok(Number(out.result!.chars) > 500, "the sample's rendered text went to the model");
  assert.ok(out.counters?.cost, "the call's cost is counted");
});

Deno.test("quick-pass (fast): a re-import stages its sections but leaves the current SoulPrint alone", async () => {
  const m = new MemoryStore();
  const old = m.addJob("user-2");
  await m.store.generations.swap(old, { sections: { old: true }, ai_name: "Atlas", import_status: "complete" });
  const job = m.addJob("user-2");
  m.addConversations(job, conversations(8));
  const out = await run(m, job.id);

  assert.equal((await m.store.artifacts.stagedSections(job.id))?.sections_source, "quick_pass");
  const p = m.profiles.get("user-2")!;
  assert.equal(p.generation_id, old.id, "the current generation stays until finalize");
  assert.deepEqual(p.sections, { old: true });
  assert.equal(p.ai_name, "Atlas");
  assert.equal(p.import_status, "quick_ready", "the status contract still moves on");
  assert.equal(out.result!.first_generation, false);
});
