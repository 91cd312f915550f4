/**
 * selftest: the diagnostic pipeline's stages (selftest_fanout, selftest_finish). Proves
 * fan-out, fan-in, retries and recovery through the real orchestrator in any environment.
 */
import { recordSelftestEffect, selftestJobOptions } from "../../../shared/adapters/selftest-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import { parseSelftestOptions, planSelftestFanout } from "../../../shared/processors/selftest.ts";

export const handle = createStageHandler({
  stages: ["selftest_fanout", "selftest_finish"],
  budgetMs: 5_000,
  claimBatch: 4,
  async process(task, tx) {
    const opts = parseSelftestOptions(await selftestJobOptions(tx, task.job_id));
    const fanout = task.stage === "selftest_fanout" ? planSelftestFanout(task.task_key, opts) : [];
    if (task.task_key.startsWith("item:") && opts.work_ms > 0) {
      await new Promise((r) => setTimeout(r, opts.work_ms));
    }
    await recordSelftestEffect(tx, task.job_id, task.task_key);
    return { newTasks: fanout, result: { fanout: fanout.length } };
  },
});
