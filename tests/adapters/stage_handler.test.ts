// The shared stage-handler shape, called in-process with a real Request against the real
// database and task API (the selftest function's handler).
import assert from "node:assert/strict";
import { createDb } from "../../shared/adapters/db.ts";
import { mayClaim, SHARED_WORKER_MB } from "../../shared/adapters/stage-handler.ts";
import { PostgresTaskStore } from "../../shared/adapters/tasks.ts";
import { handle } from "../../supabase/functions/selftest/handler.ts";
import { adminDb, createUser, DB_URL, first, keys, waitFor } from "../_support/platform.ts";

const kick = (body: unknown, auth: string | null = keys.service_role_key) =>
  new Request("http://localhost/selftest", {
    method: "POST",
    headers: auth ? { authorization: `Bearer ${auth}` } : {},
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

// Another test's selftest job may still have an invocation of the selftest function in flight, and
// an invocation claims any due task of its stage (the kicked ids only come first). Before a test
// releases a held task for its own in-process call, wait until no such invocation is running: no
// selftest kick of the last minute without its response, no selftest task of another job running
// or due soon (the sweeper would kick it).
async function selftestIdle(sql: ReturnType<typeof adminDb>, job: string) {
  await waitFor(
    async () =>
      first(
          await sql`select (
            (select count(*) from private.kicks k left join net._http_response r on r.id = k.request_id
              where k.function_name = 'selftest' and k.created_at > now() - interval '1 minute' and r.id is null)
          + (select count(*) from private.job_tasks
              where stage like 'selftest%' and job_id <> ${job}
                and (state = 'running' and lease_until > now()
                  or state in ('pending', 'failed') and run_after < now() + interval '10 seconds')))::int as n`,
        ).n === 0 || null,
    30_000,
    50,
  );
}

Deno.test("stage handler: auth, validation, and a 207 with per-task outcomes", async () => {
  const sql = adminDb();
  const db = createDb({ dbUrl: DB_URL });
  const deps = { db, tasks: new PostgresTaskStore(db), serviceKeys: [keys.service_role_key] };
  try {
    let res = await handle(kick({ stage: "selftest_fanout" }, null), deps);
    assert.equal(res.status, 401);
    assert.equal((await res.json()).code, "AUTH_MISSING");
    res = await handle(kick({ stage: "selftest_fanout" }, keys.anon_key), deps);
    assert.equal(res.status, 401);
    assert.equal((await res.json()).code, "AUTH_INVALID");
    res = await handle(kick("not json"), deps);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, "INPUT_INVALID");
    res = await handle(kick({ stage: "ingest", task_ids: [1] }), deps);
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /does not run stage ingest/);

    // A job whose first task is held back (run_after in the future) so only this call runs it.
    const user = await createUser(sql, "handler");
    const task = await sql.begin(async (tx) => {
      const { job } = first(await tx`select private.start_selftest(${user.id}, 2, 0) as job`);
      return first(
        await tx`update private.job_tasks set run_after = now() + interval '1 hour'
                             where job_id = ${job} returning id, job_id`,
      );
    });
    // The job's own kick is delivered after commit, asynchronously: wait until the real function has
    // answered it (and found nothing due), so that only this call can claim the task.
    await waitFor(
      async () =>
        first(
            await sql`select count(*)::int as n from private.kicks k join net._http_response r on r.id = k.request_id
                   where ${task.id} = any(k.task_ids)`,
          ).n > 0 || null,
      15_000,
      50,
    );
    await selftestIdle(sql, task.job_id);
    await sql`update private.job_tasks set run_after = now(), kicked_at = now() where id = ${task.id}`;
    res = await handle(kick({ stage: "selftest_fanout", task_ids: [Number(task.id)] }), deps);
    assert.equal(res.status, 207);
    const body = await res.json();
    assert.ok(body.completed.includes(Number(task.id)), JSON.stringify(body));
    assert.deepEqual(body.failed, []);
    const fanned = first(
      await sql`select count(*)::int as n from private.job_tasks where job_id = ${task.job_id} and task_key like 'item:%'`,
    );
    assert.equal(fanned.n, 2, "the start task fanned out in the same transaction as its completion");
  } finally {
    await db.end();
    await sql.end();
  }
});

Deno.test("stage handler: beside a busy invocation, a worker past its shared memory mark claims nothing", async () => {
  const sql = adminDb();
  const db = createDb({ dbUrl: DB_URL });
  const deps = { db, tasks: new PostgresTaskStore(db), serviceKeys: [keys.service_role_key] };
  try {
    assert.equal(mayClaim(999, 0), true, "a lone invocation always claims");
    assert.equal(mayClaim(SHARED_WORKER_MB + 1, 1), false);
    assert.equal(mayClaim(SHARED_WORKER_MB - 1, 3), true);
    assert.equal(mayClaim(null, 3), true, "no memory figure, no hold");

    // Two tasks of 1.5 s each, held back from the platform's own invocations (run_after ahead).
    const user = await createUser(sql, "memory-hold");
    const { job, a, b } = await sql.begin(async (tx) => {
      const { job } = first(await tx`select private.start_selftest(${user.id}, 0, 1500) as job`);
      await tx`update private.job_tasks set run_after = now() + interval '1 hour' where job_id = ${job}`;
      const [a, b] = await tx`insert into private.job_tasks (job_id, stage, task_key, max_attempts, run_after)
                              values (${job}, 'selftest_fanout', 'item:a', 5, now() + interval '1 hour'),
                                     (${job}, 'selftest_fanout', 'item:b', 5, now() + interval '1 hour')
                              returning id`;
      return { job, a, b };
    });
    // The job's own kick goes out after commit: wait until the platform has answered it (and found
    // nothing due), so that only the calls below claim these tasks.
    await waitFor(
      async () =>
        first(
            await sql`select count(*)::int as n from private.kicks k join net._http_response r on r.id = k.request_id
                   where k.task_ids && array(select id from private.job_tasks where job_id = ${job})`,
          ).n > 0 || null,
      15_000,
      50,
    );
    await selftestIdle(sql, job);
    const release = (id: number) =>
      sql`update private.job_tasks set run_after = now(), kicked_at = now() where id = ${id}`;
    const stateOf = async (id: number) => first(await sql`select state from private.job_tasks where id = ${id}`).state;

    await release(a!.id);
    const busy = handle(kick({ stage: "selftest_fanout", task_ids: [Number(a!.id)] }), {
      ...deps,
      memoryMb: () => 100,
    });
    await waitFor(async () => (await stateOf(a!.id)) === "running" || null, 10_000, 10);
    await release(b!.id);
    const held = await handle(
      kick({ stage: "selftest_fanout", task_ids: [Number(b!.id)] }),
      { ...deps, memoryMb: () => SHARED_WORKER_MB + 20 },
    );
    assert.deepEqual(await held.json(), { completed: [], failed: [], skipped: [] }, "claimed nothing");
    assert.equal(await stateOf(b!.id), "pending", "and left the task waiting");
    const done = await (await busy).json();
    assert.deepEqual(
      [...done.completed].sort(),
      [Number(a!.id), Number(b!.id)].sort(),
      "the busy invocation picked up what the held one left",
    );
  } finally {
    await db.end();
    await sql.end();
  }
});
