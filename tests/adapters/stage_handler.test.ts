// The shared stage-handler shape, called in-process with a real Request against the real
// database and task API (the selftest function's handler).
import assert from "node:assert/strict";
import { createDb } from "../../shared/adapters/db.ts";
import { PostgresTaskStore } from "../../shared/adapters/tasks.ts";
import { handle } from "../../supabase/functions/selftest/handler.ts";
import { adminDb, createUser, DB_URL, first, keys, waitFor } from "../_support/platform.ts";

const kick = (body: unknown, auth: string | null = keys.service_role_key) =>
  new Request("http://localhost/selftest", {
    method: "POST",
    headers: auth ? { authorization: `Bearer ${auth}` } : {},
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

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
