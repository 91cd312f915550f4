/**
 * Local platform (never deployed): one process on 127.0.0.1:54321 standing in for the
 * Supabase API edge: /functions/v1 (gateway), /storage/v1 (Storage API), and the pg_net
 * delivery worker, and Auth's JWKS. /_platform/health (with the key mode, SOULPRINT_KEYS) and
 * /_platform/invocations serve status and benchmarks.
 */
import postgres from "postgres";
import { LOCAL_API_URL, LOCAL_DB_URL } from "./addresses.ts";
import { Gateway } from "./gateway/mod.ts";
import { keyModeFromEnv, LOCAL_JWKS, LOCAL_JWT_SECRET, projectKeys } from "./jwt.ts";
import { NetWorker } from "./net-worker.ts";
import { StorageApi } from "./storage.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dbUrl = LOCAL_DB_URL;
const port = Number(new URL(LOCAL_API_URL).port);
const state = Deno.env.get("SOULPRINT_STATE") ?? `${root}/.platform`;
const apiUrl = LOCAL_API_URL;

// Functions reach Postgres through the transaction pooler (PgBouncer locally, Supavisor hosted).
const functionDbUrl = Deno.env.get("SOULPRINT_POOLER_URL") ?? dbUrl;

const sql = postgres(dbUrl, { max: 10, onnotice: () => {} });
const keyMode = keyModeFromEnv();
const keys = await projectKeys(keyMode);
const envNumber = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const defaults = {
  pool: {
    workersPerFunction: envNumber("SOULPRINT_WORKERS_PER_FUNCTION", 8),
    requestsPerWorker: envNumber("SOULPRINT_REQUESTS_PER_WORKER", 16),
    softRssMb: envNumber("SOULPRINT_FUNCTION_SOFT_RSS_MB", 140),
  },
  // The hosted limits: 2 s CPU per request, 256 MB, 150 s wall clock (400 s on paid plans).
  limits: {
    cpuMs: envNumber("SOULPRINT_FUNCTION_CPU_MS", 2000),
    wallMs: envNumber("SOULPRINT_FUNCTION_WALL_MS", 150_000),
    memoryMb: envNumber("SOULPRINT_FUNCTION_MEMORY_MB", 256),
  },
};

const gateway = new Gateway({
  root,
  // What a hosted project hands its functions. New keys: the opaque API keys and the JWKS that
  // verifies user tokens, and no legacy JWT or secret. Legacy: the anon/service_role JWTs (also
  // under the new variables' names, as a project with only legacy keys gets them) and the HS256
  // secret, so functions verify user tokens themselves.
  env: {
    SUPABASE_URL: apiUrl,
    SUPABASE_DB_URL: functionDbUrl,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.anon_key }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.service_role_key }),
    ...keyMode === "new" ? { SUPABASE_JWKS: JSON.stringify(LOCAL_JWKS) } : {
      SUPABASE_ANON_KEY: keys.anon_key,
      SUPABASE_SERVICE_ROLE_KEY: keys.service_role_key,
      SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
    },
  },
  keys: { mode: keyMode, publishable: [keys.anon_key], secret: [keys.service_role_key] },
  ...defaults.pool,
  limits: defaults.limits,
  heapMb: envNumber("SOULPRINT_FUNCTION_HEAP_MB", 150), // the edge runtime's per-worker default
  // Measured on a 1 GB ingest: young generation uncapped, a warm worker peaks at 210 MB RSS
  // (35 MB/s); capped at 8 MB, 136 MB (33 MB/s).
  semiSpaceMb: envNumber("SOULPRINT_FUNCTION_SEMI_SPACE_MB", 8),
  logFile: `${state}/logs/functions.log`,
  // The platform's own test functions (a CPU burner, a memory hog), served locally only.
  fixtureDirs: [`${root}/tests/platform/functions`],
  chaosSeed: envNumber("SOULPRINT_CHAOS_SEED", 1),
});
const storage = new StorageApi(sql, `${state}/storage`, {
  mode: keyMode,
  publishable: [keys.anon_key],
  secret: [keys.service_role_key],
});
const net = new NetWorker(sql);
void net.run();

// The gateway's knobs live in the same settings table as the net worker's; 0 means the default.
let chaosSeed: number | null = null;
setInterval(async () => {
  let rows;
  try {
    rows = await sql`select key, value from local_platform.settings where key like 'gateway_%'`;
  } catch {
    return; // database restarting: keep the last values
  }
  const knob = (key: string, fallback: number) => Number(rows.find((r) => r.key === key)?.value ?? 0) || fallback;
  gateway.chaos.rate = knob("gateway_kill_rate", 0);
  const seed = knob("gateway_chaos_seed", envNumber("SOULPRINT_CHAOS_SEED", 1));
  if (seed !== chaosSeed) gateway.chaos.reseed(chaosSeed = seed);
  gateway.setLimits({
    workersPerFunction: knob("gateway_workers_per_function", defaults.pool.workersPerFunction),
    requestsPerWorker: knob("gateway_requests_per_worker", defaults.pool.requestsPerWorker),
    softRssMb: knob("gateway_soft_rss_mb", defaults.pool.softRssMb),
  }, {
    cpuMs: knob("gateway_cpu_ms", defaults.limits.cpuMs),
    wallMs: knob("gateway_wall_ms", defaults.limits.wallMs),
    memoryMb: knob("gateway_memory_mb", defaults.limits.memoryMb),
  });
}, 500);

const server = Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: () => Deno.writeTextFileSync(`${state}/run/edge.pid`, `${Deno.pid}\n`),
}, async (req) => {
  const url = new URL(req.url);
  const fn = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  if (fn) return await gateway.handle(req, fn[1]!, fn[2] ?? "");
  if (url.pathname.startsWith("/storage/v1/")) {
    return await storage.handle(req, url.pathname.slice("/storage/v1".length));
  }
  if (url.pathname === "/auth/v1/.well-known/jwks.json") {
    // A project on legacy keys only publishes no asymmetric key: its tokens are HS256.
    return Response.json(keyMode === "new" ? LOCAL_JWKS : { keys: [] });
  }
  if (url.pathname === "/_platform/health") {
    let db = false;
    try {
      await sql`select 1`;
      db = true;
    } catch { /* reported below */ }
    const netAge = Date.now() - net.lastPollAt;
    return Response.json({
      keys: keyMode,
      components: {
        "functions-gateway": { up: true, detail: `${apiUrl}/functions/v1 (${gateway.invocations.length} invocations)` },
        "storage-api": { up: db, detail: `${apiUrl}/storage/v1 -> ${state}/storage` },
        "net-worker": {
          up: netAge < 5000,
          detail: `last poll ${netAge} ms ago, ${net.sent} sent, ${net.dropped} dropped`,
        },
      },
    });
  }
  if (url.pathname === "/_platform/reload-functions" && req.method === "POST") {
    gateway.reload();
    return Response.json({ reloaded: true });
  }
  if (url.pathname === "/_platform/invocations") {
    const since = Number(url.searchParams.get("since") ?? 0);
    return Response.json(gateway.invocations.filter((i) => i.seq > since));
  }
  return new Response("not found", { status: 404 });
});

const shutdown = async () => {
  net.stop();
  gateway.close();
  await server.shutdown();
  await sql.end({ timeout: 2 });
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);
