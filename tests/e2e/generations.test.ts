// Generations: a re-import builds beside the current SoulPrint and swaps at finalize. Import A
// completes; import B is then stopped at each of extract, memory, regenerate and finalize (the
// stage's concurrency cap is set to 1 and a placeholder task holds that one slot under a long
// lease, so no task of the stage starts; then the job fails as a dead task would fail it): while B runs and after it fails, A's profile, MEMORY, chunks, facts and search results are
// exactly as before, and none of B's rows remain. A last import C succeeds and replaces A whole.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { OfflineEmbedder } from "../../shared/adapters/embedder.ts";
import { generateFidelityExport } from "../../bench/fidelity/generator.ts";
import { adminDb, createUser, first, userClient, waitFor } from "../_support/platform.ts";

const FIXTURES = new URL("../fixtures/exports/", import.meta.url);
/** An export with planted facts (so the SoulPrint has MEMORY and facts to compare). */
const factsExport = (seed: number) =>
  new TextEncoder().encode(JSON.stringify(generateFidelityExport(seed, "A").conversations));
const SOULPRINT_FIELDS = [
  "generation_id",
  "sections",
  "soul_md",
  "identity_md",
  "user_md",
  "agents_md",
  "tools_md",
  "memory_md",
  "memory_status",
  "soulprint_text",
  "ai_name",
  "archetype",
  "generated_by",
  "sections_source",
  "total_conversations",
  "total_messages",
  "total_chunks",
  "total_facts",
] as const;

async function startImport(
  sql: postgres.Sql,
  user: { id: string; token: string },
  fixture: string | Uint8Array,
) {
  const key = `${user.id}/${Date.now()}-${typeof fixture === "string" ? fixture : "export.json"}`;
  const bytes = typeof fixture === "string" ? await Deno.readFile(new URL(fixture, FIXTURES)) : fixture;
  const up = await userClient(user.token).storage.from("imports").upload(key, bytes, {
    contentType: "application/octet-stream",
  });
  assert.equal(up.error, null);
  const { id } = first(
    await sql`insert into public.processing_jobs (user_id, storage_path) values (${user.id}, ${`imports/${key}`})
              returning id`,
  );
  return id as string;
}

const jobStatus = async (sql: postgres.Sql, id: string) =>
  first(await sql`select status, error_code, discarded_at from public.processing_jobs where id = ${id}`);

const terminal = (sql: postgres.Sql, id: string) =>
  waitFor(
    async () => {
      const j = await jobStatus(sql, id);
      return ["complete", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    120_000,
    100,
  );

/** The person's SoulPrint: the profile and their current generation's rows, as values that compare exactly. */
async function snapshot(sql: postgres.Sql, userId: string) {
  const profile = first(await sql`select * from public.user_profiles where user_id = ${userId}`);
  const gen = profile.generation_id as string;
  const chunks = await sql`select c.id, c.job_id, c.conversation_id, c.chunk_index, md5(c.content) as content,
                                  md5(e.embedding::text) as embedding
                             from public.conversation_chunks c left join public.chunk_embeddings e on e.chunk_id = c.id
                            where c.job_id = ${gen} order by c.id`;
  const facts = await sql`select id, job_id, chunk_id, category, fact from public.memory_facts
                           where job_id = ${gen} order by id`;
  const conversations = await sql`select job_id, conversation_id, md5(messages::text) as messages
                                    from public.raw_conversations where job_id = ${gen} order by conversation_id`;
  const vector = (await new OfflineEmbedder(768).embed(["what am I working on and planning"]))
    .vectors[0]!;
  const search = await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: userId, role: "authenticated" })}, true)`;
    await tx`set local role authenticated`;
    return await tx`select id, rrf_score, method from public.hybrid_search_chunks('working | planning | project',
                      ${JSON.stringify(vector)}::extensions.vector, 10)`;
  });
  return {
    profile: Object.fromEntries(SOULPRINT_FIELDS.map((f) => [f, JSON.stringify(profile[f])])),
    chunks: [...chunks],
    facts: [...facts],
    conversations: [...conversations],
    search: [...search],
  };
}

async function rowsOf(sql: postgres.Sql, jobId: string) {
  return first(
    await sql`select (select count(*)::int from public.raw_conversations where job_id = ${jobId}) as conversations,
                     (select count(*)::int from public.conversation_chunks where job_id = ${jobId}) as chunks,
                     (select count(*)::int from public.memory_facts where job_id = ${jobId}) as facts,
                     (select count(*)::int from private.job_artifacts where job_id = ${jobId}) as artifacts`,
  );
}

Deno.test("generations: a failed re-import leaves the current SoulPrint exactly as it was", async (t) => {
  const sql = adminDb();
  const caps = await sql`select stage, concurrency_cap from private.stages`;
  // The placeholder task belongs to a diagnostic job of another user (it never runs).
  const other = await createUser(sql, "generations-hold");
  const { id: holder } = first(
    await sql`insert into public.processing_jobs (user_id, storage_path, pipeline_version)
              values (${other.id}, ${`imports/${other.id}/hold.json`}, 'selftest') returning id`,
  );
  try {
    const user = await createUser(sql, "generations");
    const a = await startImport(sql, user, factsExport(1));
    assert.equal((await terminal(sql, a)).status, "complete");
    const before = await snapshot(sql, user.id);
    assert.equal(JSON.parse(before.profile.generation_id!), a);
    assert.ok(before.chunks.length > 0 && before.facts.length > 0 && before.search.length > 0);
    assert.ok(JSON.parse(before.profile.memory_md!), "A has a MEMORY");

    for (const stage of ["extract", "memory", "regenerate", "finalize"]) {
      await t.step(`import B stopped at ${stage}`, async () => {
        await sql`update private.stages set concurrency_cap = 1 where stage = ${stage}`;
        await sql`insert into private.job_tasks (job_id, stage, task_key, state, lease_token, lease_until, max_attempts)
                  values (${holder}, ${stage}, ${
          "hold:" + stage
        }, 'running', gen_random_uuid(), now() + interval '1 hour', 1)`;
        const b = await startImport(sql, user, factsExport(2));
        try {
          await waitFor(async () => (await jobStatus(sql, b)).status === stage || null, 90_000, 100);
          // While B runs: B's rows exist beside A's, and the person still sees exactly A.
          assert.ok((await rowsOf(sql, b)).chunks > 0, "B built its own chunks");
          assert.deepEqual(await snapshot(sql, user.id), before, `while B is at ${stage}`);
          await sql`select private.fail_job(${b}, ${stage}, 'INTERNAL', 'stopped by the generations test')`;
        } finally {
          await sql`update public.processing_jobs set status = 'cancelled'
                     where id = ${b} and status not in ('complete', 'failed', 'cancelled')`;
          await sql`delete from private.job_tasks where job_id = ${holder} and task_key = ${"hold:" + stage}`;
          await sql`update private.stages set concurrency_cap = ${
            caps.find((c) => c.stage === stage)!.concurrency_cap
          } where stage = ${stage}`;
        }
        const j = await jobStatus(sql, b);
        assert.equal(j.status, "failed");
        assert.ok(j.discarded_at, "B's rows were discarded");
        assert.deepEqual(await rowsOf(sql, b), { conversations: 0, chunks: 0, facts: 0, artifacts: 0 });
        assert.deepEqual(await snapshot(sql, user.id), before, `after B failed at ${stage}`);
      });
    }

    await t.step("retrying a discarded import starts its upload again as a new import", async () => {
      const [failed] = await sql`select id, storage_path from public.processing_jobs
                                  where user_id = ${user.id} and status = 'failed' order by created_at desc limit 1`;
      const [retried] = await sql`select * from public.retry_job(${failed!.id})`;
      assert.notEqual(retried!.id, failed!.id);
      assert.equal(retried!.storage_path, failed!.storage_path);
      assert.equal(retried!.attempts, 2);
      await sql`select public.cancel_job(${retried!.id})`;
      assert.deepEqual(await rowsOf(sql, retried!.id), { conversations: 0, chunks: 0, facts: 0, artifacts: 0 });
      assert.deepEqual(await snapshot(sql, user.id), before, "after a cancelled retry");
    });

    await t.step("a successful import C replaces A whole", async () => {
      const c = await startImport(sql, user, "chatgpt-tree.json");
      assert.equal((await terminal(sql, c)).status, "complete");
      const after = await snapshot(sql, user.id);
      assert.equal(JSON.parse(after.profile.generation_id!), c);
      assert.ok(after.chunks.length > 0);
      const left = first(
        await sql`select (select count(*)::int from public.conversation_chunks where user_id = ${user.id} and job_id <> ${c}) as chunks,
                         (select count(*)::int from public.memory_facts where user_id = ${user.id} and job_id <> ${c}) as facts,
                         (select count(*)::int from public.raw_conversations where user_id = ${user.id} and job_id <> ${c}) as convs`,
      );
      assert.deepEqual(left, { chunks: 0, facts: 0, convs: 0 }, "only C's rows remain");
      assert.deepEqual(await rowsOf(sql, a), { conversations: 0, chunks: 0, facts: 0, artifacts: 0 });
      assert.notEqual(after.profile.soulprint_text, before.profile.soulprint_text);
    });
  } finally {
    for (const c of caps) {
      await sql`update private.stages set concurrency_cap = ${c.concurrency_cap} where stage = ${c.stage}`;
    }
    await sql`delete from private.job_tasks where job_id = ${holder} and task_key like 'hold:%'`;
    await sql.end();
  }
});
