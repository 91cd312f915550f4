// The pipeline store's contract: the same assertions run on the Postgres store (real migrations,
// the local platform's database, each scenario in a transaction that is rolled back) and on the
// in-memory store the fast stage tests use, so the two cannot drift apart.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { upsertConversations } from "../../shared/adapters/imports.ts";
import { type PipelineStore, postgresStore } from "../../shared/adapters/store/mod.ts";
import type { JobInfo, JobTotals } from "../../shared/adapters/store/jobs.ts";
import { PipelineError } from "../../shared/processors/errors.ts";
import { READ_LIMIT_CHARS, READ_STEP_CHARS } from "../../shared/processors/extraction-input.ts";
import type { CanonicalConversation } from "../../shared/processors/ingest/types.ts";
import { SectionsSchema } from "../../shared/processors/schemas.ts";
import { MemoryStore } from "../_support/memory-store.ts";
import { adminDb } from "../_support/platform.ts";

/** A store plus what a test needs to arrange its state and look at what it wrote. */
interface Harness {
  store: PipelineStore;
  addUser(): Promise<string>;
  addJob(userId: string, totals?: Partial<JobTotals>): Promise<JobInfo>;
  addConversations(job: JobInfo, convs: CanonicalConversation[]): Promise<void>;
  profile(userId: string): Promise<{ generation_id: string | null; import_status: string | null } | null>;
  notifications(jobId: string): Promise<{ skipped: number; payloads: unknown[] }>;
}

function memoryHarness(): Harness {
  const m = new MemoryStore();
  return {
    store: m.store,
    addUser: () => Promise.resolve(crypto.randomUUID()),
    addJob: (userId, totals) => Promise.resolve(m.addJob(userId, { totals })),
    addConversations: (job, convs) => Promise.resolve(m.addConversations(job, convs)),
    profile: (userId) => {
      const p = m.profiles.get(userId);
      return Promise.resolve(
        p
          ? {
            generation_id: typeof p.generation_id === "string" ? p.generation_id : null,
            import_status: typeof p.import_status === "string" ? p.import_status : null,
          }
          : null,
      );
    },
    notifications: (jobId) =>
      Promise.resolve({
        skipped: m.skippedNotifications.has(jobId) ? 1 : 0,
        payloads: m.deliveries.has(jobId) ? [m.deliveries.get(jobId)] : [],
      }),
  };
}

function postgresHarness(tx: postgres.TransactionSql): Harness {
  return {
    store: postgresStore(tx),
    async addUser() {
      const id = crypto.randomUUID();
      await tx`insert into auth.users (id, email) values (${id}, ${`store-${id.slice(0, 8)}@example.test`})`;
      return id;
    },
    async addJob(userId, t = {}) {
      // The job's own triggers (tasks, kicks) are not under test here; 'complete' lets one person
      // have several jobs (one active import each).
      await tx`set local session_replication_role = replica`;
      const [r] = await tx`insert into public.processing_jobs (user_id, storage_path, status, pipeline_version,
          conversation_count, message_count, chunk_count, embedding_count, fact_count, cost_usd, cost)
        values (${userId}, ${`imports/${userId}/export.json`}, 'complete', 'v2', ${t.conversation_count ?? 0}, ${
        t.message_count ?? 0
      },
          ${t.chunk_count ?? 0}, ${t.embedding_count ?? 0}, ${t.fact_count ?? 0}, ${t.cost_usd ?? 0},
          ${JSON.stringify(t.cost ?? {})}::text::jsonb)
        returning id`;
      await tx`set local session_replication_role = origin`;
      return await postgresStore(tx).jobs.info(String(r!.id));
    },
    async addConversations(job, convs) {
      await upsertConversations(tx, job, convs);
    },
    async profile(userId) {
      const [p] = await tx`select generation_id, import_status from public.user_profiles where user_id = ${userId}`;
      return p ? { generation_id: p.generation_id ?? null, import_status: p.import_status ?? null } : null;
    },
    async notifications(jobId) {
      const [s] =
        await tx`select count(*)::int as n from private.notifications where job_id = ${jobId} and outcome = 'skipped'`;
      const d = await tx`select payload from private.webhook_deliveries where job_id = ${jobId}`;
      return { skipped: Number(s!.n), payloads: d.map((r) => r.payload) };
    },
  };
}

const conv = (id: string, day: number, messages: [string, string][]): CanonicalConversation => ({
  id,
  title: `Title ${id}`,
  created_at: `2026-0${day}-01T10:00:00.000Z`,
  updated_at: null,
  model: null,
  source: "chatgpt",
  messages: messages.map(([role, content]) => ({
    role: role === "a" ? "assistant" : role === "s" ? "system" : "user",
    content,
    created_at: null,
  })),
});

const CONVERSATIONS = [
  conv("c1", 1, [["u", "I moved to Porto in May."], ["a", "Nice."], ["u", "My dog is called Rex."]]),
  conv("c2", 2, [["u", "Tell me about tides."]]),
  conv("c3", 3, [["u", "Hello"], ["a", "x".repeat(450) + "END"], ["u", "  My dog is called Rex.  "], [
    "s",
    "Be brief.",
  ]]),
  conv("c4", 4, [["u", "Hello"], ["a", "Hi again"]]),
  conv("c5", 5, [["a", "Only the assistant spoke."]]),
];

const SECTIONS = SectionsSchema.parse({
  soul: {},
  identity: { ai_name: "Wren" },
  user: { name: "Sam" },
  agents: {},
  tools: {},
});

const scenarios: Record<string, (h: Harness) => Promise<void>> = {
  async jobs(h) {
    const user = await h.addUser();
    const job = await h.addJob(user, { conversation_count: 5, fact_count: 2, cost: { extract: { usd: 0.5 } } });
    assert.equal(job.user_id, user);
    assert.equal(job.pipeline_version, "v2");
    assert.equal(job.storage_path, `imports/${user}/export.json`);
    assert.equal(new Date(job.created_at).toISOString(), job.created_at);
    assert.deepEqual(await h.store.jobs.info(job.id), job);
    const t = await h.store.jobs.totals(job.id);
    assert.equal(t.conversation_count, 5);
    assert.equal(t.fact_count, 2);
    assert.equal(t.chunk_count, 0);
    assert.deepEqual(t.cost, { extract: { usd: 0.5 } });
    await assert.rejects(
      h.store.jobs.info(crypto.randomUUID()),
      (e) => e instanceof PipelineError && e.code === "NOT_FOUND",
    );
  },

  async conversations(h) {
    const job = await h.addJob(await h.addUser());
    await h.addConversations(job, CONVERSATIONS);
    const s = h.store.conversations;
    const stats = (await s.stats(job.id)).sort((a, b) => a.conversation_id.localeCompare(b.conversation_id));
    assert.deepEqual(stats.map((x) => [x.conversation_id, x.message_count, x.user_message_count]), [
      ["c1", 3, 2],
      ["c2", 1, 1],
      ["c3", 4, 2],
      ["c4", 2, 1],
      ["c5", 1, 0],
    ]);
    assert.equal(stats[2]!.total_chars, 5 + 453 + 25 + 9);
    assert.equal(stats[0]!.created_at, "2026-01-01T10:00:00.000Z");
    // Sample candidates: only conversations of 4+ messages, best score first, at most `limit`.
    assert.deepEqual((await s.sampleCandidates(job.id, 10)).map((x) => x.conversation_id), ["c3"]);

    const loaded = await s.load(job.id, ["c3", "missing", "c1"]);
    assert.deepEqual(loaded.map((c) => c.conversation_id), ["c3", "c1"]);
    assert.deepEqual(loaded[1]!.messages.map((m) => [m.role, m.content]), [
      ["user", "I moved to Porto in May."],
      ["assistant", "Nice."],
      ["user", "My dog is called Rex."],
    ]);

    const ranges = await s.ranges(job.id, 2);
    assert.deepEqual(ranges, [{ after: null, upto: "c2" }, { after: "c2", upto: "c4" }, { after: "c4", upto: null }]);
    assert.deepEqual((await s.inRange(job.id, ranges[1]!)).map((c) => c.conversation_id), ["c3", "c4"]);
    // Ranges also end where the characters summed before a conversation cross a multiple of
    // maxChars: at most one conversation's worth past it.
    const chars = stats.map((x) => x.total_chars);
    assert.deepEqual(await s.ranges(job.id, 10, Number.MAX_VALUE), [{ after: null, upto: null }]);
    assert.deepEqual((await s.ranges(job.id, 10, 1)).map((r) => r.upto), ["c1", "c2", "c3", "c4", null]);
    const split = chars[0]! + chars[1]! + chars[2]!; // c1-c3 before the first multiple, c4 and c5 before the second
    assert.deepEqual(await s.ranges(job.id, 10, split), [{ after: null, upto: "c3" }, { after: "c3", upto: null }]);
    assert.deepEqual(
      (await s.ranges(job.id, 2, split)).map((r) => r.upto),
      ["c2", "c3", "c4", null],
      "either ends one",
    );
    // The long ones by themselves; a range's read can leave them out.
    const c3 = chars[2]!;
    assert.deepEqual(await s.larger(job.id, c3 - 1), [{ conversation_id: "c3", total_chars: c3 }]);
    assert.deepEqual(await s.larger(job.id, c3), []);
    const whole = { after: null, upto: null };
    assert.deepEqual((await s.inRange(job.id, whole, c3 - 1)).map((c) => c.conversation_id), ["c1", "c2", "c4", "c5"]);
    assert.equal((await s.inRange(job.id, whole, c3)).length, 5);

    const { conversations: ex, more } = await s.forExtraction(job.id, {
      after: null,
      upto: "c4",
      from: "c3",
      budget: READ_STEP_CHARS,
      maxChars: READ_LIMIT_CHARS,
    });
    assert.deepEqual(ex.map((c) => c.id), ["c3", "c4"], "from c3 on, up to c4");
    assert.equal(more, null, "read to the range's end");
    assert.equal(ex[0]!.date, "2026-03-01T10:00:00.000Z");
    assert.deepEqual(ex[0]!.messages[1], { role: "assistant", text: "x".repeat(397) + "END", chars: 453 });
    assert.deepEqual(ex[0]!.messages[2], { role: "user", text: "  My dog is called Rex.  ", chars: 25 });
    assert.deepEqual(ex[0]!.messages[3], { role: "system", text: "Be brief.", chars: 9 });

    // A task reads its range in steps: while the person's characters (each message counted up to
    // 500) summed before a conversation are under the step's budget; `more` is where it stopped,
    // `chars` what the step read in stored characters.
    const heavy = await h.addJob(await h.addUser());
    const said = (i: number) => `${i} `.repeat(300); // 600+ characters, counted as 500
    await h.addConversations(
      heavy,
      ["h0", "h1", "h2", "h3", "h4", "h5"].map((id, d) =>
        conv(id, d + 1, Array.from({ length: 60 }, (_, k) => ["u", said(d * 100 + k)] as [string, string]))
      ),
    );
    const all = { after: null, upto: null, maxChars: READ_LIMIT_CHARS };
    const w0 = await s.forExtraction(heavy.id, { ...all, from: null, budget: 128_000 });
    assert.deepEqual(
      w0.conversations.map((c) => c.id),
      ["h0", "h1", "h2", "h3", "h4"],
      "30,000 each: five start under",
    );
    assert.equal(w0.more, "h5");
    assert.equal(w0.conversations[4]!.messages.length, 60, "a conversation read is read whole");
    const stored = w0.conversations.reduce((n, c) => n + c.messages.reduce((k, m) => k + m.chars!, 0), 0);
    assert.equal(w0.chars, stored, "the stored characters of the conversations read");
    const w1 = await s.forExtraction(heavy.id, { ...all, from: "h3", budget: 128_000 });
    assert.deepEqual([w1.conversations.map((c) => c.id), w1.more], [["h3", "h4", "h5"], null]);
    const w2 = await s.forExtraction(heavy.id, { ...all, from: "h1", budget: 30_001 });
    assert.deepEqual([w2.conversations.map((c) => c.id), w2.more], [["h1", "h2"], "h3"], "0 and 30,000 are under");
    const w3 = await s.forExtraction(heavy.id, { ...all, from: "h1", budget: 1 });
    assert.deepEqual([w3.conversations.map((c) => c.id), w3.more], [["h1"], "h2"], "a step reads one at least");
    const w4 = await s.forExtraction(heavy.id, { ...all, from: "h1", budget: 128_000, maxChars: w3.chars + 1 });
    assert.deepEqual([w4.conversations.map((c) => c.id), w4.more], [["h1", "h2"], "h3"], "and so does a task's limit");

    // A message text's occurrence is claimed once per job: the first claim stays, a repeated claim
    // (a retry) changes nothing, and every candidate's owner comes back; another job is apart.
    const h1 = "00000000-0000-4000-8000-000000000001", h2 = "00000000-0000-4000-8000-000000000002";
    const first = await s.claimFirstMessages(job.id, [{ hash: h1, conversation: "c3", index: 2 }]);
    assert.deepEqual([...first.entries()], [[h1, { conversation: "c3", index: 2 }]]);
    const both = await s.claimFirstMessages(job.id, [
      { hash: h1, conversation: "c1", index: 0 },
      { hash: h2, conversation: "c4", index: 0 },
    ]);
    assert.deepEqual(both.get(h1), { conversation: "c3", index: 2 }, "the first claim stays");
    assert.deepEqual(both.get(h2), { conversation: "c4", index: 0 });
    assert.deepEqual((await s.claimFirstMessages(job.id, [{ hash: h2, conversation: "c4", index: 0 }])).get(h2), {
      conversation: "c4",
      index: 0,
    });
    assert.equal((await s.claimFirstMessages(job.id, [])).size, 0);
    // A hash twice in one claim: its first candidate takes it (the claim writes each hash once).
    const h3 = "00000000-0000-4000-8000-000000000003";
    assert.deepEqual(
      (await s.claimFirstMessages(job.id, [
        { hash: h3, conversation: "c5", index: 1 },
        { hash: h3, conversation: "c6", index: 0 },
      ])).get(h3),
      { conversation: "c5", index: 1 },
    );
    const other = await h.addJob(await h.addUser());
    assert.deepEqual((await s.claimFirstMessages(other.id, [{ hash: h1, conversation: "d1", index: 0 }])).get(h1), {
      conversation: "d1",
      index: 0,
    }, "another job's claims are its own");
  },

  async chunks(h) {
    const user = await h.addUser();
    const a = await h.addJob(user);
    await h.addConversations(a, CONVERSATIONS);
    const [c1, c2] = await h.store.conversations.load(a.id, ["c1", "c2"]);
    const k = (i: number, content: string) => ({ chunk_index: i, content, token_count: 3, message_count: 1 });
    const c = h.store.chunks;
    await c.write(a, [
      { conversation: c1!, chunks: [k(0, "first chunk"), k(1, "second chunk")], isRecent: true },
      { conversation: c2!, chunks: [k(0, "hi ")], isRecent: false },
    ]);
    const all = await c.inRange(a.id, { after: null, upto: null }, false);
    assert.equal(all.length, 3);
    assert.deepEqual(all.map((x) => x.id), [...all.map((x) => x.id)].sort(), "by id");
    assert.deepEqual((await c.ranges(a.id, 2)).length, 2);
    const todo = await c.inRange(a.id, { after: null, upto: null }, true);
    assert.deepEqual(
      todo.map((x) => x.content).sort(),
      ["first chunk", "second chunk"],
      "under 3 chars: not embeddable",
    );
    assert.equal(todo[0]!.created_at, "2026-01-01T10:00:00.000Z");

    assert.equal(await c.embeddingDimension(), 768);
    const vector = Array.from({ length: 768 }, (_, i) => (i % 7) / 7);
    await c.storeEmbeddings("m1", todo.map((x) => ({ id: x.id, vector })));
    assert.deepEqual(await c.inRange(a.id, { after: null, upto: null }, true), []);
    await assert.rejects(
      c.storeEmbeddings("m1", [{ id: crypto.randomUUID(), vector }]),
      (e) => e instanceof PipelineError && e.code === "INTERNAL",
    );

    // A retried write with the same text keeps the embedding and drops indexes past the new count.
    await c.write(a, [{ conversation: c1!, chunks: [k(0, "first chunk")], isRecent: true }]);
    const after = await c.inRange(a.id, { after: null, upto: null }, false);
    assert.deepEqual(after.map((x) => x.content).sort(), ["first chunk", "hi "]);
    assert.deepEqual(await c.inRange(a.id, { after: null, upto: null }, true), []);
    const first = await c.firstChunks(a.id, ["c1", "c2", "c9"]);
    assert.deepEqual([...first.keys()].sort(), ["c1", "c2"]);
    assert.equal(first.get("c1"), after.find((x) => x.content === "first chunk")!.id);
    // Changed text loses it.
    await c.write(a, [{ conversation: c1!, chunks: [k(0, "first chunk, edited")], isRecent: true }]);
    assert.deepEqual((await c.inRange(a.id, { after: null, upto: null }, true)).map((x) => x.content), [
      "first chunk, edited",
    ]);

    // A re-import carries unchanged text's embedding over from the current generation only.
    await h.store.generations.claimFirst(a);
    const b = await h.addJob(user);
    await h.addConversations(b, CONVERSATIONS.slice(0, 1));
    await c.write(b, [{ conversation: c1!, chunks: [k(0, "first chunk, edited"), k(1, "new text")], isRecent: true }]);
    assert.deepEqual((await c.inRange(b.id, { after: null, upto: null }, true)).map((x) => x.content).sort(), [
      "first chunk, edited",
      "new text",
    ], "the current generation's chunk had no embedding yet");
    await c.storeEmbeddings(
      "m1",
      (await c.inRange(a.id, { after: null, upto: null }, true)).map((x) => ({ id: x.id, vector })),
    );
    const d = await h.addJob(user);
    await h.addConversations(d, CONVERSATIONS.slice(0, 1));
    await c.write(d, [{ conversation: c1!, chunks: [k(0, "first chunk, edited")], isRecent: true }]);
    assert.deepEqual(await c.inRange(d.id, { after: null, upto: null }, true), [], "embedding carried over");
  },

  async facts(h) {
    const job = await h.addJob(await h.addUser());
    await h.addConversations(job, CONVERSATIONS);
    const [c1, c3] = await h.store.conversations.load(job.id, ["c1", "c3"]);
    const k = (content: string) => [{ chunk_index: 0, content, token_count: 3, message_count: 1 }];
    await h.store.chunks.write(job, [
      { conversation: c1!, chunks: k("chunk one"), isRecent: true },
      { conversation: c3!, chunks: k("chunk three"), isRecent: true },
    ]);
    const ids = await h.store.chunks.firstChunks(job.id, ["c1", "c3"]);
    const set = (o: Partial<Record<"preferences" | "beliefs", string[]>>) => ({
      preferences: o.preferences ?? [],
      projects: [],
      dates: [],
      beliefs: o.beliefs ?? [],
      decisions: [],
    });
    const f = h.store.facts;
    const date = "2026-01-01T10:00:00.000Z";
    assert.equal(
      await f.replace(job, "extract:batch:0", [
        { chunk_id: ids.get("c1")!, conversation_id: "c1", date, facts: set({ preferences: ["tea"], beliefs: ["b"] }) },
      ]),
      2,
    );
    assert.equal(
      await f.replace(job, "extract:batch:1", [
        {
          chunk_id: ids.get("c3")!,
          conversation_id: "c3",
          date: null,
          facts: {
            ...set({}),
            projects: [{ name: "Kiln", description: "a build tool", details: "" }],
            dates: [{ event: "moved", date: "2026-05" }],
          },
        },
      ]),
      2,
    );
    // The same task again replaces only its own facts.
    assert.equal(
      await f.replace(job, "extract:batch:0", [
        { chunk_id: ids.get("c1")!, conversation_id: "c1", date, facts: set({ preferences: ["coffee"] }) },
      ]),
      1,
    );
    const got = await f.forJob(job.id);
    assert.equal(got.length, 2);
    const one = got.find((g) => g.facts.preferences.length)!;
    assert.deepEqual(one, { facts: set({ preferences: ["coffee"] }), date });
    const three = got.find((g) => g.facts.projects.length)!;
    assert.equal(three.date, null);
    assert.deepEqual(three.facts.projects, [{ name: "Kiln", description: "a build tool", details: "" }]);
    assert.deepEqual(three.facts.dates, [{ event: "moved", date: "2026-05" }]);
  },

  async artifacts(h) {
    const job = await h.addJob(await h.addUser());
    const a = h.store.artifacts;
    assert.equal(await a.stagedSections(job.id), null);
    assert.equal(await a.stagedMemory(job.id), null);
    assert.equal(await a.stagedFacts(job.id), null);
    const staged = {
      sections: SECTIONS,
      generated_by: "offline/x",
      sections_source: "quick_pass" as const,
      generated_at: "2026-05-01T00:00:00.000Z",
    };
    await a.stageSections(job.id, staged);
    assert.deepEqual(await a.stagedSections(job.id), staged);
    await a.stageSections(job.id, { ...staged, sections_source: "regenerate" });
    assert.equal((await a.stagedSections(job.id))!.sections_source, "regenerate", "a second write replaces the first");
    await a.stageMemory(job.id, { memory_md: null, memory_status: "degraded", memory_error_code: "MEMORY_INVALID" });
    assert.deepEqual(await a.stagedMemory(job.id), {
      memory_md: null,
      memory_status: "degraded",
      memory_error_code: "MEMORY_INVALID",
    });
    const facts = { preferences: ["tea"], projects: [], dates: [], beliefs: [], decisions: [] };
    await a.stageFacts(job.id, facts);
    assert.deepEqual(await a.stagedFacts(job.id), facts);
  },

  async generations(h) {
    const user = await h.addUser();
    const a = await h.addJob(user, { conversation_count: 4, message_count: 9, chunk_count: 3, fact_count: 2 });
    await h.addConversations(a, CONVERSATIONS.slice(0, 2));
    const g = h.store.generations;
    assert.equal(await g.claimFirst(a), true, "a first import becomes current");
    assert.equal(await g.claimFirst(a), true, "and stays so when its quick pass runs again");
    await g.writeProfile(user, { import_status: "quick_ready" });
    assert.deepEqual(await h.profile(user), { generation_id: a.id, import_status: "quick_ready" });
    await h.store.artifacts.stageMemory(a.id, { memory_md: "m", memory_status: "ready", memory_error_code: null });
    const [c1] = await h.store.conversations.load(a.id, ["c1"]);
    await h.store.chunks.write(a, [{
      conversation: c1!,
      chunks: [{ chunk_index: 0, content: "chunk", token_count: 1, message_count: 1 }],
      isRecent: true,
    }]);

    const b = await h.addJob(user);
    await h.addConversations(b, CONVERSATIONS.slice(0, 1));
    assert.equal(await g.claimFirst(b), false, "a re-import leaves the current generation alone");
    assert.equal((await h.profile(user))!.generation_id, a.id);

    const dropped = await g.swap(b, { import_status: "complete" });
    assert.deepEqual(dropped, { facts: 0, chunks: 1, conversations: 2 });
    assert.deepEqual(await h.profile(user), { generation_id: b.id, import_status: "complete" });
    assert.equal(await h.store.artifacts.stagedMemory(a.id), null, "the older generation's artifacts are gone");
    assert.deepEqual((await h.store.conversations.load(b.id, ["c1"])).map((c) => c.conversation_id), ["c1"]);

    const n = h.store.notifications;
    assert.equal(await n.enqueueCompletion(a, await h.store.jobs.totals(a.id), false), "skipped");
    assert.equal(await n.enqueueCompletion(a, await h.store.jobs.totals(a.id), false), "skipped");
    assert.deepEqual(await h.notifications(a.id), { skipped: 1, payloads: [] });
    assert.equal(await n.enqueueCompletion(a, await h.store.jobs.totals(a.id), true), "queued");
    assert.equal(await n.enqueueCompletion(a, await h.store.jobs.totals(a.id), true), "queued");
    assert.deepEqual((await h.notifications(a.id)).payloads, [{
      type: "import.completed",
      job_id: a.id,
      user_id: user,
      soulprint_ready: true,
      conversations: 4,
      messages: 9,
      chunks: 3,
      facts: 2,
    }]);
  },
};

class Rollback extends Error {}

for (const [name, scenario] of Object.entries(scenarios)) {
  Deno.test(`store contract, memory: ${name}`, () => scenario(memoryHarness()));
  Deno.test(`store contract, postgres: ${name}`, async () => {
    const sql = adminDb(1);
    try {
      await sql.begin(async (tx) => {
        await scenario(postgresHarness(tx));
        throw new Rollback(); // leave nothing behind
      }).catch((e) => {
        if (!(e instanceof Rollback)) throw e;
      });
    } finally {
      await sql.end();
    }
  });
}
