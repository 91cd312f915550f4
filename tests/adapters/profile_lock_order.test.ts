// The quick pass writes the person's profile while ingest slices of the same import complete
// beside it. A completing slice updates the job's row and, through its trigger, the profile; the
// quick pass must take the two in the same order, or the two transactions deadlock and one of
// them is retried (the quick pass's retry held quick_ready back on a 1 GB import).
import assert from "node:assert/strict";
import { postgresGenerations } from "../../shared/adapters/store/generations.ts";
import { adminDb } from "../_support/platform.ts";

Deno.test("profile writes take the job's row first: a quick pass and a completing slice do not deadlock", async () => {
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
    // The quick pass: claims the generation and writes the profile, then completes (updates the job).
    const quick = a.begin(async (tx) => {
      const g = postgresGenerations(tx);
      assert.equal(await g.claimFirst(j), true);
      await g.writeProfile(user, { import_status: "quick_ready" });
      claimed();
      await held;
      await tx`update public.processing_jobs set progress_percent = progress_percent + 1 where id = ${j.id}`;
    });
    await afterClaim;
    // An ingest slice completing meanwhile: the job's progress, mirrored to the profile by trigger.
    const slice = b.begin(async (tx) => {
      await tx`set local lock_timeout = '20s'`;
      await tx`update public.processing_jobs set progress_percent = progress_percent + 1 where id = ${j.id}`;
    });
    // Give the slice time to queue behind the quick pass before the quick pass goes on.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [q, s] = await Promise.allSettled([quick, slice]);
    assert.equal(q.status, "fulfilled", `quick pass: ${q.status === "rejected" ? q.reason : ""}`);
    assert.equal(s.status, "fulfilled", `slice: ${s.status === "rejected" ? s.reason : ""}`);
    const [p] = await a`select generation_id, import_status from public.user_profiles where user_id = ${user}`;
    assert.equal(p!.generation_id, j.id);
    const [pj] = await a`select progress_percent from public.processing_jobs where id = ${j.id}`;
    assert.equal(pj!.progress_percent, 2, "both updates landed");
  } finally {
    await a`delete from auth.users where id = ${user}`;
    await a.end();
    await b.end();
  }
});
