import assert from "node:assert/strict";
import { adminDb, anonJwt, API_URL } from "../_support/platform.ts";

Deno.test("gateway: unknown function is 404, invocations report CPU time and peak memory", async () => {
  const missing = await fetch(`${API_URL}/functions/v1/no-such-function`, { method: "POST" });
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const before = await (await fetch(`${API_URL}/_platform/invocations`)).json() as { seq: number }[];
  const since = before.at(-1)?.seq ?? 0;
  const res = await fetch(`${API_URL}/functions/v1/health`, { headers: { authorization: `Bearer ${anonJwt}` } });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  // The report is recorded once the response body has been delivered.
  let inv: { fn: string; status: number; cpu_ms: number; peak_rss_mb: number }[] = [];
  for (let i = 0; i < 50 && inv.length === 0; i++) {
    inv = await (await fetch(`${API_URL}/_platform/invocations?since=${since}`)).json();
    if (!inv.length) await new Promise((r) => setTimeout(r, 20));
  }
  const last = inv.find((i) => i.fn === "health");
  assert.ok(last, "invocation recorded");
  assert.equal(last.status, 200);
  assert.ok(last.cpu_ms > 0 && last.cpu_ms < 2000, `cpu_ms ${last.cpu_ms}`);
  assert.ok(last.peak_rss_mb > 10 && last.peak_rss_mb < 256, `peak_rss_mb ${last.peak_rss_mb}`);
});

/** Sends `n` health requests at once; returns the invocation reports recorded for them. */
async function burst(n: number) {
  const before = await (await fetch(`${API_URL}/_platform/invocations`)).json() as { seq: number }[];
  const since = before.at(-1)?.seq ?? 0;
  const statuses = await Promise.all(Array.from({ length: n }, async () => {
    const res = await fetch(`${API_URL}/functions/v1/health`, {
      headers: { authorization: `Bearer ${anonJwt}` },
    });
    await res.body?.cancel();
    return res.status;
  }));
  assert.deepEqual(statuses, Array(n).fill(200));
  let inv: { fn: string; status: number; overlapped: boolean; cpu_ms: number | null; pid: number }[] = [];
  for (let i = 0; i < 100; i++) {
    inv = (await (await fetch(`${API_URL}/_platform/invocations?since=${since}`)).json() as typeof inv)
      .filter((x) => x.fn === "health");
    if (inv.length >= n) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return inv;
}

Deno.test("gateway: concurrent requests share warm workers and are each recorded once", async () => {
  const n = 40; // more than the pool's workers: some must share one
  const sql = adminDb(1);
  const [knob] = await sql`select value from local_platform.settings where key = 'gateway_workers_per_function'`;
  await sql.end();
  const workers = Number(knob?.value) || 8;
  // Sharing: the pool holds at most `workers` processes (default 8), so 40 requests land on fewer
  // workers than requests, several in one worker at once, and those reports say so. On a loaded
  // machine one burst may happen to be served one request at a time: up to three bursts are sent.
  let overlapped = false;
  for (let attempt = 0; attempt < 3 && !overlapped; attempt++) {
    const inv = await burst(n);
    assert.equal(inv.length, n, "one record per request");
    assert.ok(inv.every((x) => x.status === 200 && x.cpu_ms !== null), "every report matched to its request");
    const pids = new Set(inv.map((x) => x.pid));
    assert.ok(pids.size <= workers, `${pids.size} workers served ${n} requests (pool cap ${workers})`);
    overlapped = inv.some((x) => x.overlapped);
  }
  assert.ok(overlapped, "requests shared a worker at the same time and are flagged overlapped");
});

/** Calls health once and returns the pid of the worker that served it (from its invocation report). */
async function healthPid(): Promise<number> {
  const before = await (await fetch(`${API_URL}/_platform/invocations`)).json() as { seq: number }[];
  const since = before.at(-1)?.seq ?? 0;
  const res = await fetch(`${API_URL}/functions/v1/health`, { headers: { authorization: `Bearer ${anonJwt}` } });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  for (let i = 0; i < 100; i++) {
    const inv = (await (await fetch(`${API_URL}/_platform/invocations?since=${since}`)).json() as {
      fn: string;
      pid: number;
    }[]).find((x) => x.fn === "health");
    if (inv) return inv.pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("no invocation report");
}

Deno.test("gateway: a worker past the soft memory limit is retired once idle; others are reused", async () => {
  const sql = adminDb(1);
  const setLimit = async (mb: number) => {
    await sql`update local_platform.settings set value = ${mb} where key = 'gateway_soft_rss_mb'`;
    await new Promise((r) => setTimeout(r, 700)); // the server reads its knobs every 500 ms
  };
  try {
    const warm = await healthPid();
    assert.equal(await healthPid(), warm, "an idle warm worker serves the next request");
    await setLimit(1); // every worker is past 1 MB
    const first = await healthPid();
    const second = await healthPid();
    assert.notEqual(second, first, "the worker past the limit takes no further requests");
    await new Promise((r) => setTimeout(r, 100));
    assert.throws(() => Deno.statSync(`/proc/${first}`), "and its process is gone");
  } finally {
    await setLimit(0);
    await sql.end();
  }
});
