/**
 * Local platform (never deployed): the function worker processes, a pool per function.
 *
 * Like the edge runtime's isolates, a worker may serve several requests at once: a request goes
 * to an idle worker when there is one (so a lone invocation's figures are its own), otherwise to
 * a newly booted worker while the pool is below `workersPerFunction`, and only then to the least
 * busy worker below `requestsPerWorker`. Packing at the cap keeps I/O-bound functions (chat,
 * query) on a few warm processes instead of one cold process per request; booting first keeps
 * CPU-bound stage loops that arrive in a burst on separate cores. A worker past the soft RSS
 * limit drains (no new requests) and is retired once idle; `reload()` replaces every worker.
 */
import { type InvocationReport, PROTOCOL_MARK } from "../worker-protocol.ts";
import { type FunctionsLog, readLines } from "./log.ts";
import type { Project } from "./project.ts";

export type Report = Partial<InvocationReport>;

export interface PoolLimits {
  workersPerFunction: number;
  requestsPerWorker: number;
  /** RSS past which a worker takes no new requests and is retired once idle. */
  softRssMb: number;
}

export interface PoolOptions extends PoolLimits {
  /** Env every function gets (SUPABASE_URL, keys, SUPABASE_DB_URL), over the project's env files. */
  env: Record<string, string>;
  /** V8 old-space cap per worker. */
  heapMb: number;
  /** V8 semi-space cap per worker (keeps a warm worker's young generation from creeping up). */
  semiSpaceMb: number;
}

export interface Worker {
  fn: string;
  proc: Deno.ChildProcess;
  port: number;
  inFlight: number;
  /** Invocation reports awaited by id; each resolves with null if the worker exits first. */
  reports: Map<string, (r: Report | null) => void>;
  exited: boolean;
  /** Past the soft memory limit: takes no new requests and is retired once idle. */
  draining: boolean;
  idleTimer?: ReturnType<typeof setTimeout>;
  generation: number;
}

const IDLE_MS = 60_000;
/** Env the workers inherit from the server; everything else is cleared. */
const INHERITED = ["PATH", "HOME", "DENO_DIR", "TMPDIR", "LANG"];

export class WorkerPool {
  private pools = new Map<string, Worker[]>();
  private waiters = new Map<string, Array<(w: Worker) => void>>();
  private spawning = new Map<string, number>();
  private generation = 0;

  constructor(private project: Project, private log: FunctionsLog, private opts: PoolOptions) {}

  setLimits(limits: PoolLimits): void {
    Object.assign(this.opts, limits);
  }

  /** Every live worker (for the limit monitor). */
  *workers(): Iterable<Worker> {
    for (const pool of this.pools.values()) yield* pool;
  }

  /**
   * An idle worker; else a new one while the pool is below its cap (a request that may be
   * CPU-bound must not share a process, i.e. one core, with others just because they arrived
   * together); else the least busy worker with room; else a wait.
   */
  async acquire(fn: string): Promise<Worker> {
    const pool = this.pool(fn).filter((w) => w.generation === this.generation && !w.exited && !w.draining);
    const idle = pool.find((w) => w.inFlight === 0);
    if (idle) return this.take(idle);
    if (this.pool(fn).length + (this.spawning.get(fn) ?? 0) < this.opts.workersPerFunction) {
      const fresh = this.take(await this.spawnInto(fn));
      this.serveWaiters(fn, fresh); // requests that queued while the whole pool was booting
      return fresh;
    }
    const roomy = pool.filter((w) => w.inFlight < this.opts.requestsPerWorker)
      .sort((a, b) => a.inFlight - b.inFlight)[0];
    if (roomy) return this.take(roomy);
    return await new Promise((resolve) => {
      const q = this.waiters.get(fn) ?? [];
      q.push(resolve);
      this.waiters.set(fn, q);
    });
  }

  /**
   * Ends one request on `w`. `peakRssMb` (from the worker's report) past the soft limit drains
   * the worker, as the edge runtime retires an isolate at its soft limit.
   */
  release(w: Worker, peakRssMb: number | null = null): void {
    w.inFlight--;
    if (peakRssMb !== null && peakRssMb > this.opts.softRssMb && !w.draining && !w.exited) {
      w.draining = true;
      this.log.event("worker.soft_limit", { fn: w.fn, pid: w.proc.pid, rss_mb: peakRssMb });
    }
    this.offer(w);
  }

  /**
   * Ends `w` at once: its in-flight requests fail. `grace` gives the worker that long to run its
   * `beforeunload` listeners (SIGTERM) before SIGKILL; 0 kills outright.
   */
  kill(w: Worker, graceMs = 0): void {
    if (w.exited) return;
    w.exited = true;
    signal(w, graceMs > 0 ? "SIGTERM" : "SIGKILL");
    if (graceMs > 0) setTimeout(() => signal(w, "SIGKILL"), graceMs);
  }

  /** Replaces every worker (after .platform/functions.env changed): idle ones now, busy ones when done. */
  reload(): void {
    this.generation++;
    for (const w of [...this.workers()]) if (w.inFlight === 0) this.retire(w);
  }

  /** Kills every worker (on shutdown). */
  close(): void {
    for (const w of this.workers()) signal(w, "SIGKILL");
  }

  private offer(w: Worker): void {
    if (w.generation !== this.generation || w.exited || w.draining) {
      if (w.inFlight === 0) this.retire(w);
      return;
    }
    this.serveWaiters(w.fn, w);
    if (w.inFlight === 0) {
      clearTimeout(w.idleTimer);
      w.idleTimer = setTimeout(() => this.retire(w), IDLE_MS);
    }
  }

  private pool(fn: string): Worker[] {
    const pool = this.pools.get(fn) ?? [];
    this.pools.set(fn, pool);
    return pool;
  }

  private take(w: Worker): Worker {
    clearTimeout(w.idleTimer);
    w.inFlight++;
    return w;
  }

  /** Hands queued requests to `w` while it has room. */
  private serveWaiters(fn: string, w: Worker): void {
    const q = this.waiters.get(fn) ?? [];
    while (q.length && w.inFlight < this.opts.requestsPerWorker) q.shift()!(this.take(w));
  }

  private retire(w: Worker): void {
    const pool = this.pool(w.fn);
    const i = pool.indexOf(w);
    if (i >= 0) pool.splice(i, 1);
    clearTimeout(w.idleTimer);
    // An exited worker is gone or already being ended by kill() (which may be giving it a grace).
    if (!w.exited) signal(w, "SIGKILL");
    w.exited = true;
    // A waiter blocked on a full pool gets a fresh worker instead.
    if (this.waiters.get(w.fn)?.length) {
      this.spawnInto(w.fn).then((fresh) => this.offer(fresh), (err) => {
        this.log.event("worker.boot_failed", { fn: w.fn, error: String(err) });
      });
    }
  }

  /** Boots a worker and adds it to the pool (idle). */
  private async spawnInto(fn: string): Promise<Worker> {
    this.spawning.set(fn, (this.spawning.get(fn) ?? 0) + 1);
    try {
      const w = await this.spawn(fn);
      this.pool(fn).push(w);
      return w;
    } finally {
      this.spawning.set(fn, (this.spawning.get(fn) ?? 1) - 1);
    }
  }

  private async spawn(fn: string): Promise<Worker> {
    const generation = this.generation; // the env below belongs to this generation
    const entry = this.project.entry(fn);
    if (!entry) throw new Error(`function ${fn} has no index.ts`);
    const env: Record<string, string> = {};
    for (const k of INHERITED) {
      const v = Deno.env.get(k);
      if (v) env[k] = v;
    }
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        `--v8-flags=--max-old-space-size=${this.opts.heapMb},--max-semi-space-size=${this.opts.semiSpaceMb}`,
        `${this.project.root}/platform/function-worker.ts`,
        entry,
      ],
      cwd: this.project.root,
      clearEnv: true,
      env: { ...env, NO_COLOR: "1", ...this.project.functionEnv(), ...this.opts.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    proc.status.catch(() => {}); // awaited by nobody; its end shows on stdout
    const w: Worker = {
      fn,
      proc,
      port: 0,
      inFlight: 0,
      reports: new Map(),
      exited: false,
      draining: false,
      generation,
    };
    (async () => {
      for await (const line of readLines(proc.stderr)) this.log.line(fn, proc.pid, line);
    })();
    const port = await this.readProtocol(w);
    if (port === null) {
      signal(w, "SIGKILL");
      throw new Error(`function ${fn} failed to boot`);
    }
    w.port = port;
    return w;
  }

  /**
   * stdout carries protocol lines and the function's console output: splits them, resolves
   * reports, and returns once the worker is ready (its port) or has died (null).
   */
  private readProtocol(w: Worker): Promise<number | null> {
    let onReady: (port: number | null) => void = () => {};
    const ready = new Promise<number | null>((r) => (onReady = r));
    (async () => {
      try {
        for await (const line of readLines(w.proc.stdout)) {
          if (!line.startsWith(PROTOCOL_MARK)) {
            this.log.line(w.fn, w.proc.pid, line);
            continue;
          }
          const msg = JSON.parse(line.slice(PROTOCOL_MARK.length));
          if (typeof msg.ready === "number") onReady(msg.ready);
          const inv = msg.invocation as Report | undefined;
          if (inv?.id) {
            w.reports.get(inv.id)?.(inv);
            w.reports.delete(inv.id);
          }
        }
      } catch (err) {
        // A killed worker's pipe can end with an error instead of EOF; either way it is gone.
        if (!w.exited) this.log.event("worker.stdout_error", { fn: w.fn, pid: w.proc.pid, error: String(err) });
      }
      w.exited = true;
      onReady(null);
      for (const done of w.reports.values()) done(null);
      w.reports.clear();
    })();
    return ready;
  }
}

function signal(w: Worker, sig: Deno.Signal): void {
  try {
    w.proc.kill(sig);
  } catch {
    // The process has already exited: nothing to end.
  }
}
