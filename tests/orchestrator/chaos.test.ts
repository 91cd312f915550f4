// Chaos, bounded: 200 jobs with 30 % of kicks dropped and 10 % of invocations killed mid-run
// must all complete, with no task effect applied twice (counted from the database).
import assert from "node:assert/strict";
import { runChaos } from "../../bench/chaos.ts";
import { DB_URL } from "../_support/platform.ts";

Deno.test("chaos: 200 jobs complete despite dropped kicks and killed invocations", async () => {
  const r = await runChaos(DB_URL, { jobs: 200, drop: 0.3, kill: 0.1, tasks: 5, timeoutS: 420 });
  console.log(
    `chaos: ${r.jobs} jobs, ${r.complete} complete, ${r.stuck} stuck, ${r.duplicates} duplicate effects (${r.seconds} s)`,
  );
  assert.equal(r.stuck, 0);
  assert.equal(r.duplicates, 0);
  assert.equal(r.complete, 200);
});
