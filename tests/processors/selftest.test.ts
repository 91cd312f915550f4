import assert from "node:assert/strict";
import { parseSelftestOptions, planSelftestFanout } from "../../shared/processors/selftest.ts";

Deno.test("selftest options are parsed with defaults and bounds", () => {
  assert.deepEqual(parseSelftestOptions({ tasks: 3, work_ms: 20 }), { tasks: 3, work_ms: 20 });
  assert.deepEqual(parseSelftestOptions(null), { tasks: 50, work_ms: 0 });
  assert.deepEqual(parseSelftestOptions({ tasks: -1, work_ms: "x" }), { tasks: 50, work_ms: 0 });
  assert.deepEqual(parseSelftestOptions({ tasks: 10 ** 9, work_ms: 10 ** 9 }), { tasks: 100_000, work_ms: 10_000 });
});

Deno.test("only the start task fans out, with stable keys", () => {
  const plan = planSelftestFanout("selftest_fanout:start", { tasks: 3, work_ms: 0 });
  assert.deepEqual(plan.map((t) => t.task_key), ["item:0", "item:1", "item:2"]);
  assert.deepEqual(planSelftestFanout("item:1", { tasks: 3, work_ms: 0 }), []);
});
