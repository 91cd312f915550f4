/**
 * Local platform (never deployed): the functions gateway. Serves `/functions/v1/<name>` by
 * forwarding to a pool of function-worker processes, enforces `verify_jwt` from
 * supabase/config.toml, injects the platform env vars, applies the wall-clock limit (546
 * WORKER_LIMIT), and records CPU time and peak memory for each invocation.
 *
 * Like the edge runtime's isolates, a worker may serve several requests at once: a request goes
 * to an idle worker when there is one (so a lone invocation's figures are its own), otherwise to
 * a newly booted worker while the pool is below `workersPerFunction`, and only then to the least
 * busy worker below `requestsPerWorker`. Packing at the cap keeps I/O-bound functions (chat,
 * query) on a few warm processes instead of one cold process per request; booting first keeps
 * CPU-bound stage loops that arrive in a burst on separate cores.
 */
import { parse as parseToml } from "smol-toml";
import { verifyJwt } from "./jwt.ts";
import { INVOCATION_HEADER, type InvocationReport, PROTOCOL_MARK } from "./worker-protocol.ts";

export interface Invocation {
  seq: number;
  fn: string;
  status: number;
  started_at: string;
  wall_ms: number;
  /** The worker process that served it. */
  pid: number;
  cpu_ms: number | null;
  peak_rss_mb: number | null;
  /** Process RSS when the invocation started (the runtime and loaded modules). */
  start_rss_mb: number | null;
  /** JS heap + external buffers at the end of the invocation. */
  heap_mb: number | null;
  /** Another invocation ran in the same worker meanwhile: cpu_ms and peak_rss_mb are shared. */
  overlapped: boolean;
  killed: boolean;
}

export interface GatewayOptions {
  root: string;
  env: Record<string, string>;
  workersPerFunction: number;
  requestsPerWorker: number;
  wallClockMs: number;
  memoryMb: number;
  /**
   * Cap on one V8 semi-space (young generation) per worker. V8 grows the young generation to its
   * maximum under allocation-heavy work (parsing) and keeps it committed, so a warm worker's RSS
   * creeps up by tens of MB; capping it keeps a worker within the edge runtime's per-worker memory
   * budget at a small cost in scavenges.
   */
  semiSpaceMb: number;
  /**
   * Soft memory limit: a worker whose RSS passed this during an invocation takes no new requests
   * and is retired once idle, as the edge runtime retires an isolate at its soft limit; the next
   * request gets another (or a fresh) worker instead of one that keeps growing.
   */
  softRssMb: number;
  logFile: string;
  killRate: () => number;
}

type Report = Partial<InvocationReport>;

interface Worker {
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

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
}

export class Gateway {
  readonly invocations: Invocation[] = [];
  private seq = 0;
  private pools = new Map<string, Worker[]>();
  private waiters = new Map<string, Array<(w: Worker) => void>>();
  private spawning = new Map<string, number>();
  private log: Deno.FsFile;

  constructor(private opts: GatewayOptions) {
    this.log = Deno.openSync(opts.logFile, { append: true, create: true });
  }

  /** verify_jwt per function from supabase/config.toml; Supabase defaults it to true. */
  private verifyJwtFor(name: string): boolean {
    const cfg = this.fresh("config.toml", () => {
      try {
        return parseToml(Deno.readTextFileSync(`${this.opts.root}/supabase/config.toml`)) as {
          functions?: Record<string, { verify_jwt?: boolean }>;
        };
      } catch {
        return {};
      }
    });
    return cfg.functions?.[name]?.verify_jwt ?? true;
  }

  /** Whether supabase/functions/<name>/index.ts exists. */
  private exists(name: string): boolean {
    return this.fresh(`fn:${name}`, () => {
      try {
        return Deno.statSync(`${this.opts.root}/supabase/functions/${name}/index.ts`).isFile;
      } catch {
        return false;
      }
    });
  }

  /**
   * Values read from the project folder, re-read at most once a second: edits show up almost at
   * once, and a busy function does not pay a file read and a TOML parse per request.
   */
  private cache = new Map<string, { at: number; value: unknown }>();
  private fresh<T>(key: string, read: () => T): T {
    const hit = this.cache.get(key);
    if (hit && performance.now() - hit.at < 1000) return hit.value as T;
    const value = read();
    this.cache.set(key, { at: performance.now(), value });
    return value;
  }

  private functionEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const file of [`${this.opts.root}/supabase/functions/.env`, `${this.opts.root}/.platform/functions.env`]) {
      try {
        for (const line of Deno.readTextFileSync(file).split("\n")) {
          const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/);
          if (m) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
        }
      } catch { /* optional files */ }
    }
    return { ...env, ...this.opts.env };
  }

  private async spawn(name: string): Promise<Worker> {
    const generation = this.generation; // the env below belongs to this generation
    const entry = `${this.opts.root}/supabase/functions/${name}/index.ts`;
    const keep = ["PATH", "HOME", "DENO_DIR", "TMPDIR", "LANG"];
    const env: Record<string, string> = {};
    for (const k of keep) {
      const v = Deno.env.get(k);
      if (v) env[k] = v;
    }
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        `--v8-flags=--max-old-space-size=${this.opts.memoryMb},--max-semi-space-size=${this.opts.semiSpaceMb}`,
        `${this.opts.root}/platform/function-worker.ts`,
        entry,
      ],
      cwd: this.opts.root,
      clearEnv: true,
      env: { ...env, NO_COLOR: "1", ...this.functionEnv() },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pipeLogs(name, proc.pid, proc.stderr);
    // stdout carries both protocol messages and the function's console output: split them.
    const enc = new TextEncoder();
    let onReady: (port: number | null) => void = () => {};
    const ready = new Promise<number | null>((r) => (onReady = r));
    const w: Worker = { proc, port: 0, inFlight: 0, reports: new Map(), exited: false, draining: false, generation };
    (async () => {
      try {
        for await (const line of readLines(proc.stdout)) {
          if (!line.startsWith(PROTOCOL_MARK)) {
            this.log.writeSync(enc.encode(`${new Date().toISOString()} ${name}[${proc.pid}] ${line}\n`));
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
      } catch { /* worker killed */ }
      w.exited = true;
      onReady(null);
      for (const done of w.reports.values()) done(null);
      w.reports.clear();
    })();
    const port = await ready;
    if (port === null) {
      try {
        proc.kill("SIGKILL");
      } catch { /* already gone */ }
      throw new Error(`function ${name} failed to boot`);
    }
    w.port = port;
    return w;
  }

  private async pipeLogs(name: string, pid: number, stream: ReadableStream<Uint8Array>) {
    const enc = new TextEncoder();
    for await (const line of readLines(stream)) {
      this.log.writeSync(enc.encode(`${new Date().toISOString()} ${name}[${pid}] ${line}\n`));
    }
  }

  private pool(name: string): Worker[] {
    const pool = this.pools.get(name) ?? [];
    this.pools.set(name, pool);
    return pool;
  }

  private take(w: Worker): Worker {
    clearTimeout(w.idleTimer);
    w.inFlight++;
    return w;
  }

  /**
   * An idle worker; else a new one while the pool is below its cap (a request that may be
   * CPU-bound for a minute must not share a process, i.e. one core, with others just because
   * they arrived together); else the least busy worker with room; else a wait.
   */
  private async acquire(name: string): Promise<Worker> {
    const pool = this.pool(name).filter((w) => w.generation === this.generation && !w.exited && !w.draining);
    const idle = pool.find((w) => w.inFlight === 0);
    if (idle) return this.take(idle);
    const spawning = this.spawning.get(name) ?? 0;
    if (this.pool(name).length + spawning < this.opts.workersPerFunction) {
      const fresh = this.take(await this.spawnInto(name));
      this.serveWaiters(name, fresh); // requests that queued while the whole pool was booting
      return fresh;
    }
    const roomy = pool.filter((w) => w.inFlight < this.opts.requestsPerWorker)
      .sort((a, b) => a.inFlight - b.inFlight)[0];
    if (roomy) return this.take(roomy);
    return await new Promise((resolve) => {
      const q = this.waiters.get(name) ?? [];
      q.push(resolve);
      this.waiters.set(name, q);
    });
  }

  /** Boots a worker and adds it to the pool (idle). */
  private async spawnInto(name: string): Promise<Worker> {
    this.spawning.set(name, (this.spawning.get(name) ?? 0) + 1);
    try {
      const w = await this.spawn(name);
      this.pool(name).push(w);
      return w;
    } finally {
      this.spawning.set(name, (this.spawning.get(name) ?? 1) - 1);
    }
  }

  /** Ends one request on `w` (or, with `ended` false, offers a freshly booted worker). */
  private release(name: string, w: Worker, ended = true): void {
    if (ended) w.inFlight--;
    if (w.generation !== this.generation || w.exited || w.draining) {
      if (w.inFlight === 0) this.retire(name, w);
      return;
    }
    this.serveWaiters(name, w);
    if (w.inFlight === 0) {
      clearTimeout(w.idleTimer);
      w.idleTimer = setTimeout(() => this.retire(name, w), IDLE_MS);
    }
  }

  /** Hands queued requests to `w` while it has room. */
  private serveWaiters(name: string, w: Worker): void {
    const q = this.waiters.get(name) ?? [];
    while (q.length && w.inFlight < this.opts.requestsPerWorker) q.shift()!(this.take(w));
  }

  private retire(name: string, w: Worker): void {
    const pool = this.pool(name);
    const i = pool.indexOf(w);
    if (i >= 0) pool.splice(i, 1);
    clearTimeout(w.idleTimer);
    try {
      w.proc.kill("SIGKILL");
    } catch { /* already exited */ }
    w.proc.status.catch(() => {});
    // A waiter blocked on a full pool gets a fresh worker instead.
    if (this.waiters.get(name)?.length) {
      this.spawnInto(name).then((fresh) => this.release(name, fresh, false), () => {});
    }
  }

  private record(inv: Omit<Invocation, "seq">): void {
    const full = { seq: ++this.seq, ...inv };
    this.invocations.push(full);
    if (this.invocations.length > 100_000) this.invocations.splice(0, 50_000);
    this.log.writeSync(new TextEncoder().encode(`${JSON.stringify({ event: "invocation", ...full })}\n`));
  }

  async handle(req: Request, name: string, rest: string): Promise<Response> {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) return Response.json({ code: "NOT_FOUND" }, { status: 404 });
    if (!this.exists(name)) {
      return Response.json({ code: "NOT_FOUND", message: "Requested function was not found" }, { status: 404 });
    }
    if (req.method !== "OPTIONS" && this.verifyJwtFor(name)) {
      const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
      if (!token || !(await verifyJwt(token))) {
        return Response.json({ code: 401, message: "Invalid JWT" }, { status: 401 });
      }
    }
    const started = new Date();
    const t0 = performance.now();
    let w: Worker;
    try {
      w = await this.acquire(name);
    } catch (err) {
      return Response.json({ code: "BOOT_ERROR", message: String(err) }, { status: 503 });
    }
    if (req.signal.aborted) {
      // The caller gave up while the request waited for a worker (e.g. a pg_net timeout).
      this.release(name, w);
      return new Response(null, { status: 499 });
    }
    const url = new URL(req.url);
    const id = String(++this.invocationIds);
    const report = new Promise<Report | null>((r) => w.reports.set(id, r));
    const kill = Math.random() < this.opts.killRate();
    const ctl = new AbortController();
    let killed = false;
    const killTimer = setTimeout(() => {
      killed = true;
      ctl.abort();
      try {
        w.proc.kill("SIGKILL");
      } catch { /* gone */ }
    }, kill ? 10 + Math.random() * 90 : this.opts.wallClockMs); // chaos kills land 10..100 ms into the run
    let finished = false;
    const finish = async (status: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(killTimer);
      const stats = (killed ? null : await report) ?? {};
      this.record({
        fn: name,
        status: killed ? 546 : status,
        started_at: started.toISOString(),
        wall_ms: Math.round(performance.now() - t0),
        pid: w.proc.pid,
        cpu_ms: stats.cpu_ms ?? null,
        peak_rss_mb: stats.peak_rss_mb ?? null,
        start_rss_mb: stats.start_rss_mb ?? null,
        heap_mb: stats.heap_mb ?? null,
        overlapped: stats.overlapped ?? false,
        killed,
      });
      if (killed || stats.cpu_ms === undefined) w.exited = true; // dead: no new requests go there
      else if ((stats.peak_rss_mb ?? 0) > this.opts.softRssMb && !w.draining) {
        w.draining = true;
        this.log.writeSync(new TextEncoder().encode(
          `${JSON.stringify({ event: "worker.soft_limit", fn: name, pid: w.proc.pid, rss_mb: stats.peak_rss_mb })}\n`,
        ));
      }
      this.release(name, w);
    };
    let res: Response;
    try {
      const headers = new Headers(req.headers);
      headers.set(INVOCATION_HEADER, id);
      res = await fetch(`http://127.0.0.1:${w.port}/${name}${rest}${url.search}`, {
        method: req.method,
        headers,
        body: req.body,
        signal: ctl.signal,
        redirect: "manual",
      });
    } catch (err) {
      await finish(546);
      return Response.json(
        { code: "WORKER_LIMIT", message: killed ? "Function worker was terminated" : String(err) },
        { status: 546 },
      );
    }
    if (!res.body) {
      await finish(res.status);
      return new Response(null, { status: res.status, headers: res.headers });
    }
    // Pump the body by hand so that an invocation is accounted for however it ends: fully sent,
    // cancelled by the client, or cut off because the worker died.
    const reader = res.body.getReader();
    const status = res.status;
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
          await finish(546);
        }
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
        await finish(status);
      },
    });
    return new Response(body, { status, headers: res.headers });
  }

  /**
   * Replaces every worker (e.g. after .platform/functions.env changed): idle ones now, busy ones
   * when their invocation ends.
   */
  reload(): void {
    this.generation++;
    for (const [name, pool] of this.pools) for (const w of [...pool]) if (w.inFlight === 0) this.retire(name, w);
  }
  private generation = 0;
  private invocationIds = 0;

  /** Changes the pool size per function, the requests one worker serves at once and the soft memory limit (knobs). */
  setLimits(limits: Pick<GatewayOptions, "workersPerFunction" | "requestsPerWorker" | "softRssMb">): void {
    Object.assign(this.opts, limits);
  }

  /** Kills every worker (on shutdown). */
  close(): void {
    for (const pool of this.pools.values()) {
      for (const w of pool) {
        try {
          w.proc.kill("SIGKILL");
        } catch { /* gone */ }
      }
    }
  }
}
