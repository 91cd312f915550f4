// The quick pass starts on the first window of a multi-slice export, while ingest is still
// running, exactly once; the later stages still wait for ingest. An export listed oldest first
// (what the synthetic generator writes) gets a refresh of the quick pass once ingest has read
// everything; one listed newest first (what ChatGPT writes) keeps its window pass and goes
// straight from ingest to chunk.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { generateExport } from "../../tools/export-generator.ts";
import { adminDb, cancelIfActive, createUser, first, startUserImport, waitFor } from "../_support/platform.ts";

/** A generated export of about `mb` MB, as written (oldest first) or reversed (newest first). */
function exportOf(mb: number, order: "oldest-first" | "newest-first"): Uint8Array {
  const parts = [...generateExport({ seed: 11, targetBytes: mb * 1048576 })].slice(1, -1).map((p) =>
    p.replace(/^,/, "")
  );
  if (order === "newest-first") parts.reverse();
  return new TextEncoder().encode(`[${parts.join(",")}]`);
}

const quickTasks = (sql: postgres.Sql, job: string) =>
  sql`select task_key, state, result, claimed_at, completed_at from private.job_tasks
       where job_id = ${job} and stage = 'quick_pass' order by id`;

/** Polls the job and the profile until the profile is quick_ready; returns what was seen then. */
async function untilQuickReady(sql: postgres.Sql, job: string, user: string) {
  return await waitFor(
    async () => {
      const [r] = await sql`select j.status, j.progress_percent, p.import_status
                            from public.processing_jobs j join public.user_profiles p on p.user_id = j.user_id
                           where j.id = ${job} and p.user_id = ${user}`;
      if (r?.status === "failed") throw new Error(`job failed: ${JSON.stringify(r)}`);
      return r?.import_status === "quick_ready" ? r : null;
    },
    120_000,
    50,
  );
}

/**
 * Runs `during` while no ingest slice can be claimed, once the quick pass's first task exists: the
 * slices already running finish, the rest wait (claims of a stage serialize on one advisory lock,
 * private.claim_tasks). A real multi-GB export keeps ingest busy for minutes; this holds a 160 MB
 * one at its window for as long as the assertions about "while ingest runs" need, whatever the
 * machine's speed. Fails when ingest has nothing left to claim by then (the hold would prove
 * nothing).
 */
async function whileIngestHeld<T>(sql: postgres.Sql, job: string, during: () => Promise<T>): Promise<T> {
  await waitFor(async () => (await quickTasks(sql, job)).length > 0 || null, 120_000, 10);
  const holder = await sql.reserve();
  try {
    await holder`begin`;
    await holder`select pg_advisory_xact_lock(hashtextextended('private.claim_tasks:ingest', 0))`;
    // A slice waiting to be claimed keeps ingest from ending; running slices hand their next one
    // off before parsing, so one appears unless the last slice has already been claimed.
    const held = await waitFor(async () => {
      const [r] = await sql`select j.status, exists (select from private.job_tasks t where t.job_id = j.id
                              and t.stage = 'ingest' and t.state = 'pending') as waiting
                              from public.processing_jobs j where j.id = ${job}`;
      return r!.waiting ? true : r!.status !== "ingest" ? false : null;
    }, 30_000);
    assert.ok(held, "ingest still had a slice to claim when the quick pass started");
    return await during();
  } finally {
    await holder`rollback`.catch(() => {});
    holder.release();
  }
}

/** Waits until the job has left ingest and the quick pass has no open task. */
const untilPastQuickPass = (sql: postgres.Sql, job: string) =>
  waitFor(
    async () => {
      const [r] = await sql`select status from public.processing_jobs where id = ${job}
                            and status not in ('ingest', 'quick_pass')`;
      return r ?? null;
    },
    180_000,
    100,
  );

/** The job's stage runs by stage (start and end times); fails when `stages` are not all there. */
async function stageRuns(sql: postgres.Sql, job: string, stages: string[]) {
  const rows = await sql`select stage, started_at, completed_at from private.job_stage_runs where job_id = ${job}`;
  const runs: Record<string, { started_at: Date; completed_at: Date }> = {};
  for (const r of rows) runs[r.stage] = { started_at: r.started_at, completed_at: r.completed_at };
  assert.deepEqual(stages.filter((s) => !runs[s]), [], "stage runs recorded");
  return (s: string) => runs[s]!;
}

Deno.test("quick window: an oldest-first multi-slice export is quick_ready while ingest runs, refreshed after it", async () => {
  const sql = adminDb();
  let job: string | undefined;
  try {
    const user = await createUser(sql, "quick-window-asc");
    job = await startUserImport(sql, user, exportOf(160, "oldest-first"));
    const seen = await whileIngestHeld(sql, job, () => untilQuickReady(sql, job!, user.id));
    assert.equal(seen.status, "ingest", "the person can chat before ingest has read the whole file");
    assert.ok(seen.progress_percent < 20, `the job still shows its ingest progress (${seen.progress_percent}%)`);

    await untilPastQuickPass(sql, job);
    const tasks = await quickTasks(sql, job);
    assert.deepEqual(tasks.map((t) => `${t.task_key} ${t.state}`), [
      "quick_pass:start done",
      "quick_pass:refresh done",
    ]);
    assert.equal(tasks[0]!.result.window.order, "oldest-first");
    assert.ok(tasks[0]!.result.window.conversations > 0);
    const run = await stageRuns(sql, job, ["ingest", "quick_pass", "chunk"]);
    assert.ok(tasks[0]!.completed_at < run("ingest").completed_at, "the window pass ended before ingest did");
    assert.ok(tasks[1]!.claimed_at >= run("ingest").completed_at, "the refresh ran once ingest had read everything");
    assert.equal(tasks[1]!.result.window, null, "and sampled every conversation");
    assert.ok(run("chunk").started_at >= run("ingest").completed_at, "chunking waited for ingest");
    const [staged] = await sql`select content ->> 'sections_source' as src from private.job_artifacts
                                where job_id = ${job} and name = 'sections'`;
    assert.equal(staged!.src, "quick_pass");
  } finally {
    if (job) await cancelIfActive(sql, job);
    await sql.end();
  }
});

Deno.test("quick window: a newest-first export keeps its window pass and goes from ingest straight to chunk", async () => {
  const sql = adminDb();
  let job: string | undefined;
  try {
    const user = await createUser(sql, "quick-window-desc");
    job = await startUserImport(sql, user, exportOf(160, "newest-first"));
    const seen = await whileIngestHeld(sql, job, () => untilQuickReady(sql, job!, user.id));
    assert.equal(seen.status, "ingest");
    await untilPastQuickPass(sql, job);
    const tasks = await quickTasks(sql, job);
    assert.deepEqual(tasks.map((t) => `${t.task_key} ${t.state}`), ["quick_pass:start done"], "one quick pass, once");
    assert.equal(tasks[0]!.result.window.order, "newest-first");
    const path = (await sql`select to_status from private.job_events where job_id = ${job} order by id`)
      .map((r) => r.to_status);
    assert.deepEqual(path.slice(0, 2), ["ingest", "chunk"], "the job never waited at quick_pass");
    const run = await stageRuns(sql, job, ["ingest", "quick_pass"]);
    assert.ok(run("quick_pass").completed_at < run("ingest").completed_at, "the quick pass's run is its real span");
    const profile = first(
      await sql`select generation_id, import_status, full_pass_status from public.user_profiles
                                     where user_id = ${user.id}`,
    );
    assert.deepEqual(
      [profile.generation_id, profile.import_status, profile.full_pass_status],
      [job, "quick_ready", "processing"],
    );
  } finally {
    if (job) await cancelIfActive(sql, job);
    await sql.end();
  }
});
