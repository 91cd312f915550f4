/**
 * Orchestrator benchmark on the local platform (selftest pipeline). Ends with one JSON line:
 *   handoff_ms_p50/p95   stage advance -> next stage's first task claimed
 *   recovery_s_after_dropped_kick   a job whose only kick was lost, until its task is claimed
 *   tasks_per_s          throughput of one 2000-task fan-out
 *   small_job_slowdown   p95 duration of 50 small jobs beside one job 100x their size,
 *                        divided by their p95 alone (target <= 1.5)
 */
import postgres from "postgres";
import { benchArgs, createUsers, DB_URL, percentile, setKnob, startSelftests, waitTerminal } from "./_lib.ts";

benchArgs({}); // takes no options: refuses any rather than ignoring them
const sql = postgres(DB_URL, { max: 4, onnotice: () => {} });
const log = (...a: unknown[]) => console.error(...a);

async function durations(jobs: string[]): Promise<number[]> {
  const rows = await sql`select extract(epoch from completed_at - created_at) * 1000 as ms from public.processing_jobs
                          where id = any(${jobs}) and status = 'complete'`;
  return rows.map((r) => Number(r.ms));
}

try {
  // Warm the function workers so boot time is not measured as orchestration.
  await waitTerminal(sql, await startSelftests(sql, await createUsers(sql, 8, "warm"), 8, 0), 60_000);

  // 1. Hand-off latency, one job at a time.
  const handoffs: number[] = [];
  for (const u of await createUsers(sql, 30, "handoff")) {
    const [job] = await startSelftests(sql, [u], 1, 0);
    await waitTerminal(sql, [job!], 30_000);
    const [r] = await sql`select extract(epoch from t.claimed_at - e.at) * 1000 as ms
      from private.job_events e join private.job_tasks t on t.job_id = e.job_id and t.task_key = 'selftest_finish:start'
     where e.job_id = ${job!} and e.to_status = 'selftest_finish'`;
    handoffs.push(Number(r!.ms));
  }
  log(`handoff: p50 ${percentile(handoffs, 50).toFixed(1)} ms, p95 ${percentile(handoffs, 95).toFixed(1)} ms`);

  // 2. Recovery after a dropped kick (the sweeper's cadence decides it).
  await setKnob(sql, "net_drop_rate", 1);
  const [lost] = await startSelftests(sql, await createUsers(sql, 1, "lost"), 1, 0);
  await new Promise((r) => setTimeout(r, 300));
  await setKnob(sql, "net_drop_rate", 0);
  await waitTerminal(sql, [lost!], 180_000);
  const [rec] = await sql`select extract(epoch from t.claimed_at - j.created_at) as s from private.job_tasks t
    join public.processing_jobs j on j.id = t.job_id where t.job_id = ${lost!} and t.task_key = 'selftest_fanout:start'`;
  const recovery = Number(rec!.s);
  log(`recovery after a dropped kick: ${recovery.toFixed(1)} s`);

  // 3. Throughput of one large fan-out.
  const [big] = await startSelftests(sql, await createUsers(sql, 1, "tput"), 2000, 0);
  await waitTerminal(sql, [big!], 600_000);
  const tps = 2002 / ((await durations([big!]))[0]! / 1000);
  log(`throughput: ${tps.toFixed(0)} tasks/s (one job, 2002 tasks)`);

  // 4. Fairness: 50 small jobs alone, then beside one job 100x their size.
  const SMALL = 10, WORK = 20;
  const alone = await startSelftests(sql, await createUsers(sql, 50, "small-alone"), SMALL, WORK);
  await waitTerminal(sql, alone, 300_000);
  const p95Alone = percentile(await durations(alone), 95);
  const [huge] = await startSelftests(sql, await createUsers(sql, 1, "huge"), SMALL * 100, WORK);
  await new Promise((r) => setTimeout(r, 500)); // the big job is already fanning out
  const beside = await startSelftests(sql, await createUsers(sql, 50, "small-beside"), SMALL, WORK);
  await waitTerminal(sql, beside, 300_000);
  const p95Beside = percentile(await durations(beside), 95);
  await waitTerminal(sql, [huge!], 600_000);
  log(`small jobs p95: alone ${p95Alone.toFixed(0)} ms, beside a 100x job ${p95Beside.toFixed(0)} ms`);

  console.log(JSON.stringify({
    handoff_ms_p50: Math.round(percentile(handoffs, 50) * 10) / 10,
    handoff_ms_p95: Math.round(percentile(handoffs, 95) * 10) / 10,
    recovery_s_after_dropped_kick: Math.round(recovery * 10) / 10,
    tasks_per_s: Math.round(tps),
    small_job_slowdown: Math.round((p95Beside / p95Alone) * 100) / 100,
  }));
} finally {
  await sql`update local_platform.settings set value = 0 where key in ('net_drop_rate', 'gateway_kill_rate')`;
  await sql.end();
}
