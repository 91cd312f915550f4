/**
 * Chaos scenario (bounded; stops by itself): N selftest jobs run while the pg_net worker drops
 * a share of kicks and the gateway kills a share of invocations mid-task. Everything reported
 * is counted from the database.
 *   deno task chaos [-- --jobs 200 --drop 0.3 --kill 0.1 --timeout-s 480]
 * Ends with: chaos: <N> jobs, <C> complete, <S> stuck, <D> duplicate effects
 */
import postgres from "postgres";
import { benchArgs, createUsers, DB_URL, setKnob, startSelftests, waitTerminal } from "./_lib.ts";

export interface ChaosResult {
  jobs: number;
  complete: number;
  failed: number;
  stuck: number;
  duplicates: number;
  seconds: number;
}

export async function runChaos(
  dbUrl: string,
  opts: { jobs: number; drop: number; kill: number; tasks: number; timeoutS: number },
) {
  const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
  const t0 = Date.now();
  try {
    const users = await createUsers(sql, opts.jobs, "chaos");
    await setKnob(sql, "net_drop_rate", opts.drop);
    await setKnob(sql, "gateway_kill_rate", opts.kill);
    // 40 ms of simulated I/O per task, so that killed invocations die mid-task.
    const jobs = await startSelftests(sql, users, opts.tasks, 40);
    await waitTerminal(sql, jobs, opts.timeoutS * 1000);
    const [c] = await sql`select count(*) filter (where status = 'complete')::int as complete,
                                 count(*) filter (where status = 'failed')::int as failed,
                                 count(*) filter (where status not in ('complete', 'failed', 'cancelled'))::int as stuck
                            from public.processing_jobs where id = any(${jobs})`;
    const [d] = await sql`select count(*)::int as n from ops.selftest_duplicate_effects where job_id = any(${jobs})`;
    return {
      jobs: jobs.length,
      complete: c!.complete,
      failed: c!.failed,
      stuck: c!.stuck,
      duplicates: d!.n,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
    } satisfies ChaosResult;
  } finally {
    await sql`update local_platform.settings set value = 0 where key in ('net_drop_rate', 'gateway_kill_rate')`;
    await sql.end();
  }
}

if (import.meta.main) {
  const a = benchArgs({ jobs: 200, drop: 0.3, kill: 0.1, tasks: 5, "timeout-s": 480 });
  const r = await runChaos(DB_URL, { ...a, timeoutS: a["timeout-s"] });
  console.log(`(${r.seconds} s, ${r.failed} failed)`);
  console.log(`chaos: ${r.jobs} jobs, ${r.complete} complete, ${r.stuck} stuck, ${r.duplicates} duplicate effects`);
  Deno.exit(r.complete === r.jobs && r.duplicates === 0 ? 0 : 1);
}
