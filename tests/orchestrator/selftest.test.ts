// The orchestrator end to end on the real platform: triggers, pg_net stand-in, gateway,
// the selftest stage function and the sweeper.
import assert from "node:assert/strict";
import { adminDb, createUser, first, waitFor } from "../_support/platform.ts";

Deno.test("a fan-out of 60 tasks completes through triggers, pg_net and the gateway", async () => {
  const sql = adminDb();
  try {
    const user = await createUser(sql, "fanout");
    const { job } = first(await sql`select private.start_selftest(${user.id}, 60, 5) as job`);
    const done = await waitFor(
      async () =>
        first(await sql`select status, progress_percent from public.processing_jobs where id = ${job}`).status ===
          "complete" || null,
      60_000,
      50,
    );
    assert.ok(done);
    const tasks = first(
      await sql`select count(*)::int as n, count(*) filter (where state = 'done')::int as done
                                  from private.job_tasks where job_id = ${job}`,
    );
    assert.equal(tasks.n, 62, "start + 60 items + finish");
    assert.equal(tasks.done, 62);
    const effects = first(
      await sql`select count(*)::int as n, count(distinct task_key)::int as keys
                                    from private.selftest_effects where job_id = ${job}`,
    );
    assert.deepEqual(effects, { n: 62, keys: 62 }, "every task's effect committed exactly once");
    const events = await sql`select from_status, to_status from private.job_events where job_id = ${job} order by id`;
    assert.deepEqual(events.map((e) => `${e.from_status}->${e.to_status}`), [
      "null->selftest_fanout",
      "selftest_fanout->selftest_finish",
      "selftest_finish->complete",
    ]);
    const j = first(
      await sql`select progress_percent, completed_at is not null as ended from public.processing_jobs where id = ${job}`,
    );
    assert.deepEqual(j, { progress_percent: 100, ended: true });
  } finally {
    await sql.end();
  }
});

Deno.test("racing completions of a stage's last tasks advance the job exactly once", async () => {
  const sql = adminDb(40);
  try {
    const jobs: string[] = [];
    // Arrange 4 jobs whose fan-out stage has 4 tasks left, all claimed by this test (their
    // run_after is in the future until claimed, so no function or sweeper touches them).
    // 4 x 4 = the stage's concurrency cap of 16 running tasks.
    for (let i = 0; i < 4; i++) {
      const user = await createUser(sql, `race${i}`);
      const job = await sql.begin(async (tx) => {
        const { job } = first(await tx`select private.start_selftest(${user.id}, 0, 0) as job`);
        const [start] = await tx`select * from private.claim_tasks('selftest_fanout', null, 1, 'test')`;
        await tx`insert into private.job_tasks (job_id, stage, task_key, max_attempts, run_after)
                 select ${job}, 'selftest_fanout', 'race:' || g, 5, now() + interval '1 hour' from generate_series(1, 4) g`;
        await tx`select private.complete_task(${start!.id}, ${start!.lease_token})`;
        return job as string;
      });
      jobs.push(job);
    }
    const claimed = await sql.begin(async (tx) => {
      await tx`update private.job_tasks set run_after = now() where job_id = any(${jobs}) and task_key like 'race:%'`;
      return await tx`select * from private.claim_tasks('selftest_fanout', null, 100, 'test')`;
    });
    assert.equal(claimed.length, 16);
    assert.ok(claimed.every((t) => jobs.includes(t.job_id)));
    // 16 completions at once, on 16 connections.
    const results = await Promise.allSettled(
      claimed.map((t) => sql.begin((tx) => tx`select private.complete_task(${t.id}, ${t.lease_token}) as r`)),
    );
    assert.equal(results.filter((r) => r.status === "rejected").length, 0);
    const advances = await sql`select job_id, count(*)::int as n from private.job_events
                                where job_id = any(${jobs}) and from_status = 'selftest_fanout' group by job_id`;
    assert.equal(advances.length, 4);
    assert.ok(advances.every((a) => a.n === 1), "each job advanced exactly once");
    await waitFor(
      async () => {
        const { n } = first(
          await sql`select count(*)::int as n from public.processing_jobs where id = any(${jobs}) and status = 'complete'`,
        );
        return n === 4 || null;
      },
      30_000,
      50,
    );
  } finally {
    await sql.end();
  }
});

Deno.test("a dropped kick is recovered by the sweeper; cancel stops a running job", async () => {
  const sql = adminDb();
  try {
    const user = await createUser(sql, "dropped");
    await sql`update local_platform.settings set value = 1 where key = 'net_drop_rate'`;
    await new Promise((r) => setTimeout(r, 1200));
    const { job } = first(await sql`select private.start_selftest(${user.id}, 3, 0) as job`);
    await new Promise((r) => setTimeout(r, 500));
    await sql`update local_platform.settings set value = 0 where key = 'net_drop_rate'`;
    await new Promise((r) => setTimeout(r, 1200));
    const st = first(await sql`select status from public.processing_jobs where id = ${job}`);
    assert.equal(st.status, "selftest_fanout", "nothing ran: the only kick was lost");
    // The sweeper (pg_cron) re-kicks; call it here too so the test does not wait for the schedule.
    await sql`update private.job_tasks set kicked_at = now() - interval '1 minute' where job_id = ${job}`;
    await sql`select private.sweep()`;
    await waitFor(
      async () =>
        first(await sql`select status from public.processing_jobs where id = ${job}`).status === "complete" || null,
      30_000,
      50,
    );

    const user2 = await createUser(sql, "cancel");
    const { job: job2 } = first(await sql`select private.start_selftest(${user2.id}, 40, 200) as job`);
    await waitFor(
      async () =>
        (first(await sql`select count(*)::int as n from private.selftest_effects where job_id = ${job2}`).n > 2) ||
        null,
      30_000,
      20,
    );
    const c = first(await sql`select (public.cancel_job(${job2})).status as status`);
    assert.equal(c.status, "cancelled");
    const before = first(await sql`select count(*)::int as n from private.selftest_effects where job_id = ${job2}`).n;
    await new Promise((r) => setTimeout(r, 800));
    const after = first(await sql`select count(*)::int as n from private.selftest_effects where job_id = ${job2}`).n;
    assert.equal(after, before, "no effect commits after cancel (late completions roll back)");
    const open = first(
      await sql`select count(*)::int as n from private.job_tasks where job_id = ${job2} and state in ('pending', 'running', 'failed')`,
    );
    assert.equal(open.n, 0);
  } finally {
    await sql`update local_platform.settings set value = 0 where key = 'net_drop_rate'`;
    await sql.end();
  }
});

Deno.test("the sweeper never waits for a job row a completion holds (no deadlock with complete_task)", async () => {
  const sql = adminDb();
  try {
    const user = await createUser(sql, "heartbeat");
    const { job } = first(await sql`select private.start_selftest(${user.id}, 2, 3000) as job`);
    await waitFor(
      async () =>
        first(await sql`select count(*)::int as n from private.job_tasks where job_id = ${job} and state = 'running'`)
            .n > 0 || null,
      30_000,
      20,
    );
    // Another transaction holds the job row, as complete_task does while it finishes a task.
    const reserved = await sql.reserve();
    try {
      await reserved`begin`;
      await reserved`select 1 from public.processing_jobs where id = ${job} for update`;
      // The sweeper once waited here for the job row (after locking tasks it kicked): the reverse of
      // complete_task's order. Now it skips the locked row and returns.
      const swept = await sql.begin(async (tx) => {
        await tx`set local lock_timeout = '2s'`;
        return first(await tx`select private.sweep() as r`).r as { heartbeats: number };
      });
      assert.equal(typeof swept.heartbeats, "number");
      await reserved`rollback`;
    } finally {
      reserved.release();
    }
    const beat = first(await sql`select heartbeat_at from public.processing_jobs where id = ${job}`);
    await sql`select private.sweep()`;
    const again = first(await sql`select heartbeat_at from public.processing_jobs where id = ${job}`);
    assert.ok(
      again.heartbeat_at > (beat.heartbeat_at ?? new Date(0)) ||
        first(await sql`select status from public.processing_jobs where id = ${job}`).status === "complete",
      "once the row is free, the next sweep marks the heartbeat (or the job is already done)",
    );
    await waitFor(
      async () =>
        first(await sql`select status from public.processing_jobs where id = ${job}`).status === "complete" || null,
      30_000,
      50,
    );
  } finally {
    await sql.end();
  }
});

Deno.test("the minutely sweep loop pauses without holding a snapshot (row versions stay prunable)", async () => {
  const sql = adminDb();
  const loop = adminDb(1); // one connection, so the pid is the one that runs the loop
  try {
    const { pid } = first(await loop`select pg_backend_pid() as pid`);
    // Three seconds of sweeps, one a second: two pauses of about a second each.
    const running = loop`call private.sweep_for(3, 1)`.execute();
    const ages: number[] = [];
    const until = Date.now() + 2800;
    while (Date.now() < until) {
      const [r] = await sql`select extract(epoch from clock_timestamp() - xact_start)::float8 as age
                              from pg_stat_activity where pid = ${pid} and xact_start is not null`;
      if (r) ages.push(r.age);
      await new Promise((r) => setTimeout(r, 25));
    }
    await running;
    assert.ok(ages.length > 20, `the loop was observed (${ages.length} samples)`);
    // A pause held in one statement kept one transaction (and its snapshot) open for the whole
    // second; now no transaction of the loop lives past a slice.
    assert.ok(Math.max(...ages) < 0.5, `longest transaction of the loop: ${Math.max(...ages).toFixed(2)} s`);
  } finally {
    await loop.end();
    await sql.end();
  }
});
