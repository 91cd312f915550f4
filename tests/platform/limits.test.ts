// The hosted Edge Functions limits, enforced by the local gateway: an invocation past its CPU
// time or memory gets 546 WORKER_LIMIT, one past its wall clock 504, each kill is logged in
// functions.log, and functions within the limits are untouched. Drives the platform's own test
// function (tests/platform/functions/limits-probe) over HTTP.
import assert from "node:assert/strict";
import { tasksThatFit } from "../../shared/adapters/stage-handler.ts";
import { adminDb, anonJwt, API_URL, waitFor } from "../_support/platform.ts";

const LOG = new URL("../../.platform/logs/functions.log", import.meta.url);

interface Inv {
  seq: number;
  fn: string;
  status: number;
  cpu_ms: number | null;
  peak_rss_mb: number | null;
  killed: boolean;
  kill_reason: string | null;
}

async function lastSeq(): Promise<number> {
  const all = await (await fetch(`${API_URL}/_platform/invocations`)).json() as Inv[];
  return all.at(-1)?.seq ?? 0;
}

/** Calls the probe; returns the response status, its body and the gateway's record of it. */
async function probe(query: string): Promise<{ status: number; body: Record<string, unknown>; inv: Inv }> {
  const since = await lastSeq();
  const res = await fetch(`${API_URL}/functions/v1/limits-probe?${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${anonJwt}` },
  });
  const body = await res.json();
  const inv = await waitFor(async () => {
    const list = await (await fetch(`${API_URL}/_platform/invocations?since=${since}`)).json() as Inv[];
    return list.find((i) => i.fn === "limits-probe");
  }, 10_000);
  return { status: res.status, body, inv };
}

/** The `invocation.killed` events in functions.log since `offset` bytes. */
async function killsSince(offset: number): Promise<{ fn: string; reason: string; cpu_ms: number }[]> {
  const text = (await Deno.readTextFile(LOG)).slice(offset);
  return text.split("\n").filter((l) => l.startsWith('{"event":"invocation.killed"')).map((l) => JSON.parse(l));
}

const logSize = async () => (await Deno.stat(LOG)).size;

Deno.test("limits: a function that burns past 2 s of CPU is killed with 546 and the kill is logged", async () => {
  const offset = await logSize();
  const r = await probe("burn_ms=5000");
  assert.equal(r.status, 546);
  assert.equal(r.body.code, "WORKER_LIMIT");
  assert.match(String(r.body.message), /CPU time limit \(2000 ms\)/);
  assert.equal(r.inv.kill_reason, "cpu");
  assert.equal(r.inv.status, 546);
  assert.ok(r.inv.cpu_ms! >= 2000 && r.inv.cpu_ms! < 4000, `charged ${r.inv.cpu_ms} ms`);
  const kills = await waitFor(async () => (await killsSince(offset)).find((k) => k.fn === "limits-probe"));
  assert.equal(kills.reason, "cpu");
});

Deno.test("limits: a worker past 256 MB is killed with 546", async () => {
  const offset = await logSize();
  const r = await probe("alloc_mb=320&sleep_ms=3000");
  assert.equal(r.status, 546);
  assert.match(String(r.body.message), /memory limit \(256 MB\)/);
  assert.equal(r.inv.kill_reason, "memory");
  assert.ok(r.inv.peak_rss_mb! > 256, `peak ${r.inv.peak_rss_mb} MB`);
  const kill = await waitFor(async () => (await killsSince(offset)).find((k) => k.fn === "limits-probe"));
  assert.equal(kill.reason, "memory");
});

Deno.test("limits: a request past the wall clock limit gets 504", async () => {
  const sql = adminDb(1);
  const setWall = async (ms: number) => {
    await sql`update local_platform.settings set value = ${ms} where key = 'gateway_wall_ms'`;
    await new Promise((r) => setTimeout(r, 700)); // the server reads its knobs every 500 ms
  };
  try {
    await setWall(1500); // 150 s is too long for a test: the knob shortens it
    const t0 = Date.now();
    const r = await probe("sleep_ms=10000");
    assert.equal(r.status, 504);
    assert.equal(r.body.code, "WALL_CLOCK_LIMIT");
    assert.ok(Date.now() - t0 < 6000, "answered at the limit, not when the function finished");
    assert.equal(r.inv.kill_reason, "wall");
  } finally {
    await setWall(0);
    await sql.end();
  }
});

Deno.test("limits: functions within the limits are unaffected", async () => {
  const r = await probe("burn_ms=300&alloc_mb=40&sleep_ms=200");
  assert.equal(r.status, 200);
  assert.equal(r.body.held_mb, 40);
  assert.equal(r.inv.killed, false);
  assert.equal(r.inv.kill_reason, null);
  assert.ok(r.inv.cpu_ms! >= 300, `cpu_ms ${r.inv.cpu_ms}`);
});

Deno.test("limits: the stage loop claims one task first, then only what its budgets left hold", () => {
  assert.equal(tasksThatFit({ wallMs: 60_000, cpuMs: 1500 }, null), 1, "one task to measure first");
  assert.equal(tasksThatFit({ wallMs: 60_000, cpuMs: 1500 }, { wallMs: 1000, cpuMs: 400 }), 3, "CPU binds");
  assert.equal(tasksThatFit({ wallMs: 20_000, cpuMs: 1500 }, { wallMs: 9000, cpuMs: 10 }), 2, "wall binds");
  assert.equal(tasksThatFit({ wallMs: 60_000, cpuMs: 300 }, { wallMs: 100, cpuMs: 400 }), 0, "nothing fits: return");
  assert.equal(tasksThatFit({ wallMs: 500, cpuMs: null }, { wallMs: 100, cpuMs: 400 }), 5, "no CPU accounting");
});
