/**
 * Local platform (never deployed): the functions gateway. Serves `/functions/v1/<name>` by
 * forwarding to a pool of function-worker processes (one request per worker at a time, like the
 * edge runtime's isolates), enforces `verify_jwt` from supabase/config.toml, injects the platform
 * env vars, applies the wall-clock limit (546 WORKER_LIMIT), and records CPU time and peak memory
 * for each invocation.
 */
import { parse as parseToml } from "smol-toml";
import { verifyJwt } from "./jwt.ts";

export interface Invocation {
  seq: number;
  fn: string;
  status: number;
  started_at: string;
  wall_ms: number;
  cpu_ms: number | null;
  peak_rss_mb: number | null;
  /** JS heap + external buffers at the end of the invocation. */
  heap_mb: number | null;
  killed: boolean;
}

export interface GatewayOptions {
  root: string;
  env: Record<string, string>;
  workersPerFunction: number;
  wallClockMs: number;
  memoryMb: number;
  logFile: string;
  killRate: () => number;
}

interface Worker {
  proc: Deno.ChildProcess;
  port: number;
  busy: boolean;
  /** Next protocol message from the worker (null when it exited). */
  next: () => Promise<Record<string, unknown> | null>;
  idleTimer?: ReturnType<typeof setTimeout>;
  generation: number;
}

/** Must match function-worker.ts. */
const PROTOCOL_MARK = "\u001eplatform ";

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
    try {
      const cfg = parseToml(Deno.readTextFileSync(`${this.opts.root}/supabase/config.toml`)) as {
        functions?: Record<string, { verify_jwt?: boolean }>;
      };
      return cfg.functions?.[name]?.verify_jwt ?? true;
    } catch {
      return true;
    }
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
        `--v8-flags=--max-old-space-size=${this.opts.memoryMb}`,
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
    const queue: Array<Record<string, unknown> | null> = [];
    const waiting: Array<(m: Record<string, unknown> | null) => void> = [];
    const push = (m: Record<string, unknown> | null) => {
      const w = waiting.shift();
      if (w) w(m);
      else queue.push(m);
    };
    const enc = new TextEncoder();
    (async () => {
      try {
        for await (const line of readLines(proc.stdout)) {
          if (line.startsWith(PROTOCOL_MARK)) push(JSON.parse(line.slice(PROTOCOL_MARK.length)));
          else this.log.writeSync(enc.encode(`${new Date().toISOString()} ${name}[${proc.pid}] ${line}\n`));
        }
      } catch { /* worker killed */ }
      push(null);
    })();
    const next = () =>
      queue.length
        ? Promise.resolve(queue.shift()!)
        : new Promise<Record<string, unknown> | null>((r) => waiting.push(r));
    const first = await next();
    const ready = first?.ready;
    if (typeof ready !== "number") {
      try {
        proc.kill("SIGKILL");
      } catch { /* already gone */ }
      throw new Error(`function ${name} failed to boot`);
    }
    return { proc, port: ready, busy: false, next, generation };
  }

  private async pipeLogs(name: string, pid: number, stream: ReadableStream<Uint8Array>) {
    const enc = new TextEncoder();
    for await (const line of readLines(stream)) {
      this.log.writeSync(enc.encode(`${new Date().toISOString()} ${name}[${pid}] ${line}\n`));
    }
  }

  private async acquire(name: string): Promise<Worker> {
    const pool = this.pools.get(name) ?? [];
    this.pools.set(name, pool);
    const idle = pool.find((w) => !w.busy);
    if (idle) {
      clearTimeout(idle.idleTimer);
      idle.busy = true;
      return idle;
    }
    const spawning = this.spawning.get(name) ?? 0;
    if (pool.length + spawning < this.opts.workersPerFunction) {
      this.spawning.set(name, spawning + 1);
      try {
        const w = await this.spawn(name);
        w.busy = true;
        pool.push(w);
        return w;
      } finally {
        this.spawning.set(name, (this.spawning.get(name) ?? 1) - 1);
      }
    }
    return await new Promise((resolve) => {
      const q = this.waiters.get(name) ?? [];
      q.push(resolve);
      this.waiters.set(name, q);
    });
  }

  private release(name: string, w: Worker): void {
    if (w.generation !== this.generation) return this.retire(name, w);
    const next = this.waiters.get(name)?.shift();
    if (next) return next(w);
    w.busy = false;
    w.idleTimer = setTimeout(() => this.retire(name, w), IDLE_MS);
  }

  private retire(name: string, w: Worker): void {
    const pool = this.pools.get(name) ?? [];
    const i = pool.indexOf(w);
    if (i >= 0) pool.splice(i, 1);
    clearTimeout(w.idleTimer);
    try {
      w.proc.kill("SIGKILL");
    } catch { /* already exited */ }
    w.proc.status.catch(() => {});
    // A waiter blocked on a full pool gets a fresh worker instead.
    const next = this.waiters.get(name)?.shift();
    if (next) this.acquireFresh(name).then(next);
  }

  private async acquireFresh(name: string): Promise<Worker> {
    const w = await this.spawn(name);
    w.busy = true;
    (this.pools.get(name) ?? []).push(w);
    return w;
  }

  private record(inv: Omit<Invocation, "seq">): void {
    const full = { seq: ++this.seq, ...inv };
    this.invocations.push(full);
    if (this.invocations.length > 100_000) this.invocations.splice(0, 50_000);
    this.log.writeSync(new TextEncoder().encode(`${JSON.stringify({ event: "invocation", ...full })}\n`));
  }

  async handle(req: Request, name: string, rest: string): Promise<Response> {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) return Response.json({ code: "NOT_FOUND" }, { status: 404 });
    try {
      await Deno.stat(`${this.opts.root}/supabase/functions/${name}/index.ts`);
    } catch {
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
      let stats: { cpu_ms?: number; peak_rss_mb?: number; heap_mb?: number } = {};
      if (!killed) stats = ((await w.next())?.invocation ?? {}) as typeof stats;
      this.record({
        fn: name,
        status: killed ? 546 : status,
        started_at: started.toISOString(),
        wall_ms: Math.round(performance.now() - t0),
        cpu_ms: stats.cpu_ms ?? null,
        peak_rss_mb: stats.peak_rss_mb ?? null,
        heap_mb: stats.heap_mb ?? null,
        killed,
      });
      if (killed || stats.cpu_ms === undefined) this.retire(name, w);
      else this.release(name, w);
    };
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${w.port}/${name}${rest}${url.search}`, {
        method: req.method,
        headers: req.headers,
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
    for (const [name, pool] of this.pools) for (const w of [...pool]) if (!w.busy) this.retire(name, w);
  }
  private generation = 0;

  /** Changes the pool size per function (a chaos/benchmark knob). */
  setWorkersPerFunction(n: number): void {
    this.opts.workersPerFunction = n;
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
