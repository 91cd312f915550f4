// Statements bounded in time (shared/adapters/store/bounded.ts) against the real database: past
// the limit nothing of them is kept and the surrounding transaction goes on; settings come back.
import assert from "node:assert/strict";
import { createDb } from "../../shared/adapters/db.ts";
import { withinTime } from "../../shared/adapters/store/bounded.ts";
import { DB_URL } from "../_support/platform.ts";

Deno.test("withinTime: past its limit null, nothing kept, the transaction usable; in time the value, settings restored", async () => {
  const db = createDb({ dbUrl: DB_URL }, 1);
  try {
    await db.begin(async (tx) => {
      await tx`create temp table bounded_probe (n int) on commit drop`;
      const late = await withinTime(tx, 50, async (sp) => {
        await sp`insert into bounded_probe values (1)`;
        await sp`select pg_sleep(0.5)`;
        return "finished";
      });
      assert.equal(late, null, "ran out of time");
      assert.equal(
        Number((await tx`select count(*)::int as n from bounded_probe`)[0]!.n),
        0,
        "its insert was rolled back",
      );
      const before = (await tx`select current_setting('statement_timeout') as t, current_setting('work_mem') as w`)[0]!;
      const v = await withinTime(tx, 5_000, async (sp) => {
        const [r] = await sp`select current_setting('statement_timeout') as t, current_setting('work_mem') as w`;
        return `${r!.t} ${r!.w}`;
      }, { work_mem: "64MB" });
      assert.equal(v, "5s 64MB", "the limit and settings apply inside");
      const after = (await tx`select current_setting('statement_timeout') as t, current_setting('work_mem') as w`)[0]!;
      assert.deepEqual(after, before, "and are restored after");
    });
    // On a pool (no transaction given) it runs in its own transaction.
    assert.equal(await withinTime(db, 1_000, async (sp) => (await sp`select 7 as n`)[0]!.n), 7);
  } finally {
    await db.end();
  }
});
