/**
 * Local platform (never deployed): the functions gateway. Serves `/functions/v1/<name>` the way
 * the hosted edge does: enforces `verify_jwt` from supabase/config.toml, runs the function in a
 * pool of worker processes with the platform env vars, holds every invocation to the hosted
 * limits (2 s CPU, 256 MB, 150 s wall clock), and records each invocation's CPU time, memory and
 * fate in .platform/logs/functions.log. One job per module:
 *   project.ts      what the project folder says (functions, verify_jwt, env files)
 *   worker-pool.ts  worker processes and the pool policy (soft RSS retirement, reload)
 *   limits.ts       the hosted limits and how CPU is attributed to an invocation
 *   invocation.ts   forwarding one request, pumping its response, recording its figures
 *   chaos.ts        seeded fault injection (the `gateway_kill_rate` knob)
 */
import { type KeyMode, verifyAccessToken } from "../jwt.ts";
import { FaultInjector } from "./chaos.ts";
import { type Invocation, InvocationRecords, invoke } from "./invocation.ts";
import { type HostedLimits, type KillReason, LimitMonitor } from "./limits.ts";
import { FunctionsLog } from "./log.ts";
import { Project } from "./project.ts";
import { type PoolLimits, type PoolOptions, type Worker, WorkerPool } from "./worker-pool.ts";

export type { HostedLimits, Invocation, PoolLimits };

export interface GatewayOptions extends PoolOptions {
  root: string;
  limits: HostedLimits;
  logFile: string;
  /** Folders of locally served extra functions (the platform's test functions). */
  fixtureDirs?: string[];
  chaosSeed: number;
  keys: ProjectKeys;
}

/** The project's key mode and API keys (both lists hold the new opaque keys in `new` mode). */
export interface ProjectKeys {
  mode: KeyMode;
  publishable: string[];
  secret: string[];
}

/**
 * How long a worker ended for its memory or wall clock gets to run `beforeunload` listeners
 * (SIGTERM) before SIGKILL, like the edge runtime's beforeunload before it terminates an isolate.
 * A CPU-bound worker cannot take the signal anyway, so CPU and chaos kills are immediate.
 */
const BEFOREUNLOAD_GRACE_MS = 1000;

export class Gateway {
  private log: FunctionsLog;
  private project: Project;
  private pool: WorkerPool;
  private monitor: LimitMonitor;
  private records: InvocationRecords;
  readonly chaos: FaultInjector;

  constructor(private opts: GatewayOptions) {
    this.log = new FunctionsLog(opts.logFile);
    this.project = new Project(opts.root, this.log, opts.fixtureDirs);
    this.pool = new WorkerPool(this.project, this.log, opts);
    this.monitor = new LimitMonitor({ ...opts.limits }, (w, reason) => this.endWorker(w, reason));
    this.records = new InvocationRecords(this.log);
    this.chaos = new FaultInjector(opts.chaosSeed);
  }

  get invocations(): Invocation[] {
    return this.records.list;
  }

  async handle(req: Request, name: string, path: string): Promise<Response> {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(name) || !this.project.entry(name)) {
      return Response.json({ code: "NOT_FOUND", message: "Requested function was not found" }, { status: 404 });
    }
    if (req.method !== "OPTIONS" && this.project.verifyJwt(name)) {
      const refused = await this.refuseCaller(req);
      if (refused) return refused;
    }
    let w: Worker;
    try {
      w = await this.pool.acquire(name);
    } catch (err) {
      return Response.json({ code: "BOOT_ERROR", message: String(err) }, { status: 503 });
    }
    if (req.signal.aborted) {
      // The caller gave up while the request waited for a worker (e.g. a pg_net timeout).
      this.pool.release(w);
      return new Response(null, { status: 499 });
    }
    const deps = { pool: this.pool, monitor: this.monitor, chaos: this.chaos, records: this.records, log: this.log };
    return await invoke(deps, w, req, name, path);
  }

  /** Pool size, requests per worker, soft RSS limit and hosted limits (knobs). */
  setLimits(pool: PoolLimits, limits: HostedLimits): void {
    this.pool.setLimits(pool);
    this.monitor.limits = { ...limits };
  }

  /** Replaces every worker (e.g. after .platform/functions.env changed). */
  reload(): void {
    this.pool.reload();
  }

  /** Kills every worker (on shutdown). */
  close(): void {
    this.monitor.stop();
    this.pool.close();
  }

  /**
   * verify_jwt, as the hosted edge does it: a bearer token must be a JWT signed by the project's
   * Auth (HS256 secret in legacy mode, the JWKS in new mode), so an opaque `sb_` key sent as bearer
   * fails. In new mode a call without a bearer token passes on a project API key in `apikey`
   * (a client or service with no user session); an unknown `sb_` apikey is refused outright.
   * Returns the 401 response, or null when the caller passes.
   */
  private async refuseCaller(req: Request): Promise<Response | null> {
    const { mode, publishable, secret } = this.opts.keys;
    const apikey = req.headers.get("apikey");
    const known = apikey !== null && (publishable.includes(apikey) || secret.includes(apikey));
    if (mode === "new" && apikey?.startsWith("sb_") && !known) {
      return Response.json({ code: 401, message: "Invalid API key" }, { status: 401 });
    }
    const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    if (token) return (await verifyAccessToken(token, mode)) ? null : invalidJwt();
    return mode === "new" && known ? null : invalidJwt();
  }

  private endWorker(w: Worker, reason: KillReason): void {
    this.pool.kill(w, reason === "cpu" || reason === "chaos" ? 0 : BEFOREUNLOAD_GRACE_MS);
  }
}

const invalidJwt = () => Response.json({ code: 401, message: "Invalid JWT" }, { status: 401 });
