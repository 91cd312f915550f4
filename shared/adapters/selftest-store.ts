/** Database access of the selftest pipeline: job options and one effect row per execution. */
import type { Tx } from "./tasks.ts";

export async function selftestJobOptions(tx: Tx, jobId: string): Promise<unknown> {
  const [row] = await tx`select options from public.processing_jobs where id = ${jobId}`;
  return row?.options ?? {};
}

/** Appends an effect row; committed only if the task's completion commits. */
export async function recordSelftestEffect(tx: Tx, jobId: string, taskKey: string): Promise<void> {
  await tx`insert into private.selftest_effects (job_id, task_key) values (${jobId}, ${taskKey})`;
}
