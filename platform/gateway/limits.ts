/**
 * Local platform (never deployed): the hosted Edge Functions limits, enforced the way the edge
 * runtime's supervisor does: an invocation past its CPU time (2 s), its memory (256 MB) or its
 * wall clock (150 s; 400 s on paid plans) ends its worker, and the caller gets 546 WORKER_LIMIT
 * (CPU, memory) or 504 (wall clock).
 *
 * How CPU is attributed. A worker is one process that may serve several invocations at once, and
 * the kernel only counts CPU per process. Every SAMPLE_MS the monitor reads each busy worker's
 * CPU time (/proc/<pid>/stat) and splits what it used since the last sample evenly among the
 * invocations in flight on it. An invocation that ran alone (the pool gives every request an
 * idle worker first, so CPU-bound stage loops almost always do) is charged exactly its process's
 * CPU, the same figure function-worker.ts reports; overlapping ones share. Memory is the
 * worker's RSS (/proc/<pid>/statm), which counts more than the isolate heap the hosted limit
 * counts, so it errs on the strict side. Like an isolate, a worker ended for one invocation ends
 * the others in flight on it too; they are recorded as killed with the same reason.
 */
import type { Worker } from "./worker-pool.ts";

export interface HostedLimits {
  /** CPU time per invocation (hosted: 2000). */
  cpuMs: number;
  /** Wall clock per invocation (hosted: 150000 free, 400000 paid). */
  wallMs: number;
  /** Worker memory (hosted: 256). */
  memoryMb: number;
}

export type KillReason = "cpu" | "memory" | "wall" | "chaos";

/** What the caller of a killed invocation gets: 504 for the wall clock, 546 for everything else. */
export const killStatus = (reason: KillReason) => (reason === "wall" ? 504 : 546);

/** One invocation as the monitor sees it. */
export interface Tracked {
  worker: Worker;
  startedAt: number;
  cpuMs: number;
  /** Set once the invocation is ended by a limit (or by chaos). */
  killed: KillReason | null;
  /** The invocation whose limit ended this worker (itself, or another one in flight on it). */
  culprit: boolean;
  rssMb: number | null;
  onKill: (reason: KillReason) => void;
}

const SAMPLE_MS = 100;
const TICKS_PER_S = clockTicks();
const PAGE_BYTES = 4096;

export class LimitMonitor {
  private live = new Set<Tracked>();
  /** Each busy worker's CPU ms at the last sample. */
  private lastCpu = new Map<Worker, number>();
  private timer: ReturnType<typeof setInterval>;

  constructor(public limits: HostedLimits, private kill: (w: Worker, reason: KillReason) => void) {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  /** Starts charging an invocation running on `worker`. */
  track(worker: Worker, onKill: (reason: KillReason) => void): Tracked {
    // CPU a worker used while idle (timers, GC) is nobody's: charging starts now.
    if (![...this.live].some((t) => t.worker === worker)) {
      const cpu = cpuMs(worker.proc.pid);
      if (cpu !== null) this.lastCpu.set(worker, cpu);
    }
    const t: Tracked = {
      worker,
      startedAt: performance.now(),
      cpuMs: 0,
      killed: null,
      culprit: false,
      rssMb: null,
      onKill,
    };
    this.live.add(t);
    return t;
  }

  untrack(t: Tracked): void {
    this.live.delete(t);
    if (![...this.live].some((o) => o.worker === t.worker)) this.lastCpu.delete(t.worker);
  }

  /** Ends `t`'s worker for `reason` (a limit, or chaos); every invocation on it ends too. */
  end(t: Tracked, reason: KillReason): void {
    if (t.killed) return;
    t.culprit = true;
    for (const o of [...this.live]) {
      if (o.worker !== t.worker || o.killed) continue;
      o.killed = reason;
      o.onKill(reason);
    }
    this.kill(t.worker, reason);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const byWorker = new Map<Worker, Tracked[]>();
    for (const t of this.live) if (!t.killed) byWorker.set(t.worker, [...(byWorker.get(t.worker) ?? []), t]);
    const now = performance.now();
    for (const [w, ts] of byWorker) {
      const cpu = cpuMs(w.proc.pid);
      const rss = rssMb(w.proc.pid);
      if (cpu === null || rss === null) continue; // the process is gone; its invocations end on their own
      const share = (cpu - (this.lastCpu.get(w) ?? cpu)) / ts.length;
      this.lastCpu.set(w, cpu);
      for (const t of ts) {
        t.cpuMs += share;
        t.rssMb = Math.max(t.rssMb ?? 0, rss);
      }
      const over = ts.find((t) => t.cpuMs > this.limits.cpuMs) ?? (rss > this.limits.memoryMb ? ts[0] : undefined);
      const late = ts.find((t) => now - t.startedAt > this.limits.wallMs);
      if (over) this.end(over, over.cpuMs > this.limits.cpuMs ? "cpu" : "memory");
      else if (late) this.end(late, "wall");
    }
  }
}

/** User + system CPU of a process in ms, or null when it is gone. */
function cpuMs(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
  } catch {
    return null; // the process has exited
  }
}

/** Resident memory of a process in MB, or null when it is gone. */
function rssMb(pid: number): number | null {
  try {
    const pages = Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]);
    return (pages * PAGE_BYTES) / 1048576;
  } catch {
    return null; // the process has exited
  }
}

/** The kernel's clock ticks per second (USER_HZ), which /proc/<pid>/stat counts in. */
function clockTicks(): number {
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" }).outputSync();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    if (n > 0) return n;
  } catch {
    // getconf missing: Linux's USER_HZ is 100 on every common architecture.
  }
  return 100;
}
