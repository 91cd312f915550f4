/**
 * Local platform (never deployed): one invocation on a worker. Forwards the request, holds it to
 * the hosted limits (limits.ts) and chaos kills, pumps the response body, and records the
 * invocation's figures once it has ended however it ends: fully sent, cancelled by the client,
 * or cut off because its worker died or was killed.
 */
import { INVOCATION_HEADER } from "../worker-protocol.ts";
import type { FaultInjector } from "./chaos.ts";
import { type KillReason, killStatus, type LimitMonitor, type Tracked } from "./limits.ts";
import type { FunctionsLog } from "./log.ts";
import type { Report, Worker, WorkerPool } from "./worker-pool.ts";

export interface Invocation {
  seq: number;
  fn: string;
  status: number;
  started_at: string;
  wall_ms: number;
  /** The worker process that served it. */
  pid: number;
  /** The worker's own figure; for a killed invocation, the gateway's attribution (limits.ts). */
  cpu_ms: number | null;
  peak_rss_mb: number | null;
  /** Process RSS when the invocation started (the runtime and loaded modules). */
  start_rss_mb: number | null;
  /** JS heap + external buffers at the end of the invocation. */
  heap_mb: number | null;
  /** Another invocation ran in the same worker meanwhile: cpu_ms and peak_rss_mb are shared. */
  overlapped: boolean;
  killed: boolean;
  /** Why the worker was ended: a hosted limit (cpu, memory, wall) or fault injection (chaos). */
  kill_reason: KillReason | null;
}

/** The figures of recent invocations (served at /_platform/invocations) and their log lines. */
export class InvocationRecords {
  readonly list: Invocation[] = [];
  private seq = 0;

  constructor(private log: FunctionsLog) {}

  add(inv: Omit<Invocation, "seq">): void {
    const full = { seq: ++this.seq, ...inv };
    this.list.push(full);
    if (this.list.length > 100_000) this.list.splice(0, 50_000);
    this.log.event("invocation", full);
  }
}

export interface InvocationDeps {
  pool: WorkerPool;
  monitor: LimitMonitor;
  chaos: FaultInjector;
  records: InvocationRecords;
  log: FunctionsLog;
}

let ids = 0;

/** Runs one request of function `fn` on worker `w` (already acquired) and answers it. */
export async function invoke(deps: InvocationDeps, w: Worker, req: Request, fn: string, path: string) {
  const started = new Date();
  const id = String(++ids);
  const report = new Promise<Report | null>((r) => w.reports.set(id, r));
  const ctl = new AbortController();
  const tracked = deps.monitor.track(w, () => ctl.abort());
  const chaosMs = deps.chaos.killAfterMs();
  const chaosTimer = chaosMs === null ? undefined : setTimeout(() => deps.monitor.end(tracked, "chaos"), chaosMs);

  let finished = false;
  const finish = async (status: number) => {
    if (finished) return;
    finished = true;
    clearTimeout(chaosTimer);
    deps.monitor.untrack(tracked);
    const stats = (tracked.killed ? null : await report) ?? {};
    if (!tracked.killed && stats.cpu_ms === undefined) w.exited = true; // died without reporting
    const inv = {
      fn,
      status: tracked.killed ? killStatus(tracked.killed) : stats.cpu_ms === undefined ? 546 : status,
      started_at: started.toISOString(),
      wall_ms: Math.round(performance.now() - tracked.startedAt),
      pid: w.proc.pid,
      cpu_ms: stats.cpu_ms ?? Math.round(tracked.cpuMs),
      peak_rss_mb: stats.peak_rss_mb ?? (tracked.rssMb === null ? null : Math.round(tracked.rssMb * 10) / 10),
      start_rss_mb: stats.start_rss_mb ?? null,
      heap_mb: stats.heap_mb ?? null,
      overlapped: stats.overlapped ?? false,
      killed: tracked.killed !== null,
      kill_reason: tracked.killed,
    };
    deps.records.add(inv);
    if (tracked.killed) {
      deps.log.event("invocation.killed", {
        fn,
        pid: inv.pid,
        reason: tracked.killed,
        // false: another invocation on the same worker passed the limit and this one went with it.
        culprit: tracked.culprit,
        cpu_ms: inv.cpu_ms,
        rss_mb: inv.peak_rss_mb,
        wall_ms: inv.wall_ms,
        limits: deps.monitor.limits,
      });
    }
    deps.pool.release(w, stats.peak_rss_mb ?? null);
  };

  let res: Response;
  try {
    const headers = new Headers(req.headers);
    headers.set(INVOCATION_HEADER, id);
    res = await fetch(`http://127.0.0.1:${w.port}/${fn}${path}${new URL(req.url).search}`, {
      method: req.method,
      headers,
      body: req.body,
      signal: ctl.signal,
      redirect: "manual",
    });
  } catch (err) {
    const status = tracked.killed ? killStatus(tracked.killed) : 546;
    await finish(status);
    return Response.json(
      {
        code: tracked.killed === "wall" ? "WALL_CLOCK_LIMIT" : "WORKER_LIMIT",
        message: killMessage(tracked, err, deps),
      },
      { status },
    );
  }
  return pump(res, finish, tracked);
}

/**
 * Passes the body on chunk by chunk so that the invocation is accounted for however it ends.
 * A worker killed mid-stream errors the stream (the caller sees a cut-off body).
 */
function pump(res: Response, finish: (status: number) => Promise<void>, tracked: Tracked): Response {
  const status = res.status;
  if (!res.body) {
    void finish(status);
    return new Response(null, { status, headers: res.headers });
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          c.close();
          await finish(status);
        } else c.enqueue(value);
      } catch (err) {
        c.error(err);
        await finish(tracked.killed ? killStatus(tracked.killed) : 546);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {/* the worker is gone: nothing left to cancel */});
      await finish(status);
    },
  });
  return new Response(body, { status, headers: res.headers });
}

function killMessage(t: Tracked, err: unknown, deps: InvocationDeps): string {
  const l = deps.monitor.limits;
  switch (t.killed) {
    case "cpu":
      return `Function exceeded its CPU time limit (${l.cpuMs} ms) and its worker was terminated`;
    case "memory":
      return `Function exceeded its memory limit (${l.memoryMb} MB) and its worker was terminated`;
    case "wall":
      return `Function exceeded its wall clock limit (${l.wallMs} ms) and its worker was terminated`;
    case "chaos":
      return "Function worker was terminated";
    default:
      return `Function worker failed: ${String(err)}`;
  }
}
