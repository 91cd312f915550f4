// Stages that write the person's profile run beside updates of their job's row: ingest slices
// completing beside the quick pass, a cancel arriving as finalize swaps the generation in. An
// update of the job's row takes it and then, through its trigger, the profile; a stage must take
// the two in the same order, or the two transactions deadlock and one of them fails or is retried
// (the quick pass's retry held quick_ready back on a 1 GB import; a cancel failed).
import assert from "node:assert/strict";
import { postgresGenerations } from "../../shared/adapters/store/generations.ts";
import { adminDb } from "../_support/platform.ts";

/**
 * `hold` writes the profile in a transaction that then waits; meanwhile another transaction
 * updates the job's row (whose trigger mirrors it to the profile), as a completing task or
 * `cancel_job` does. Both must land: no deadlock.
 */
async function raceWithJobUpdate(
  hold: (g: ReturnType<typeof postgresGenerations>, j: { id: string; user_id: string }) => Promise<void>,
) {
  const a = adminDb(1), b = adminDb(1);
  const user = crypto.randomUUID();
  try {
    await a`insert into auth.users (id, email) values (${user}, ${`plo-${user}@test.local`})`;
    const [job] = await a`insert into public.processing_jobs (user_id, storage_path, pipeline_version)
                          values (${user}, ${`imports/${user}/x.json`}, 'selftest') returning id, user_id`;
    const j = { id: String(job!.id), user_id: user };
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    let claimed!: () => void;
    const afterClaim = new Promise<void>((r) => claimed = r);
    // The stage: writes the profile, then completes (updates the job).
    const writer = a.begin(async (tx) => {
      await hold(postgresGenerations(tx), j);
      claimed();
      await held;
      await tx`update public.processing_jobs set progress_percent = progress_percent + 1 where id = ${j.id}`;
    });
    await afterClaim;
    // A task completing (or a cancel) meanwhile: the job's row, mirrored to the profile by trigger.
    const update = b.begin(async (tx) => {
      await tx`set local lock_timeout = '20s'`;
      await tx`update public.processing_jobs set progress_percent = progress_percent + 1 where id = ${j.id}`;
    });
    // Give the update time to queue behind the writer before the writer goes on.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [q, s] = await Promise.allSettled([writer, update]);
    assert.equal(q.status, "fulfilled", `profile writer: ${q.status === "rejected" ? q.reason : ""}`);
    assert.equal(s.status, "fulfilled", `job update: ${s.status === "rejected" ? s.reason : ""}`);
    const [p] = await a`select generation_id, import_status from public.user_profiles where user_id = ${user}`;
    assert.equal(p!.generation_id, j.id);
    const [pj] = await a`select progress_percent from public.processing_jobs where id = ${j.id}`;
    assert.equal(pj!.progress_percent, 2, "both updates landed");
  } finally {
    await a`delete from auth.users where id = ${user}`;
    await a.end();
    await b.end();
  }
}

Deno.test("profile writes take the job's row first: a quick pass and a completing slice do not deadlock", async () => {
  await raceWithJobUpdate(async (g, j) => {
    assert.equal(await g.claimFirst(j), true);
    await g.writeProfile(j.user_id, { import_status: "quick_ready" });
  });
});

Deno.test("profile writes take the job's row first: finalize's swap and a cancel of the same import do not deadlock", async () => {
  await raceWithJobUpdate(async (g, j) => {
    await g.swap(j, { import_status: "complete" });
  });
});
