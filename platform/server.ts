/**
 * Local platform (never deployed): one process on 127.0.0.1:54321 standing in for the
 * Supabase API edge: /functions/v1 (gateway), /storage/v1 (Storage API), and the pg_net
 * delivery worker. /_platform/health and /_platform/invocations serve status and benchmarks.
 */
import postgres from "postgres";
import { LOCAL_API_URL, LOCAL_DB_URL } from "./addresses.ts";
import { Gateway } from "./gateway.ts";
import { LOCAL_JWT_SECRET, projectKeys } from "./jwt.ts";
import { NetWorker } from "./net-worker.ts";
import { StorageApi } from "./storage.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dbUrl = LOCAL_DB_URL;
const port = Number(new URL(LOCAL_API_URL).port);
const state = Deno.env.get("SOULPRINT_STATE") ?? `${root}/.platform`;
const apiUrl = LOCAL_API_URL;

const sql = postgres(dbUrl, { max: 10, onnotice: () => {} });
const keys = await projectKeys();
let killRate = 0;
const defaultWorkers = Number(Deno.env.get("SOULPRINT_WORKERS_PER_FUNCTION") ?? 8);
const defaultRequestsPerWorker = Number(Deno.env.get("SOULPRINT_REQUESTS_PER_WORKER") ?? 16);
const defaultSoftRssMb = Number(Deno.env.get("SOULPRINT_FUNCTION_SOFT_RSS_MB") ?? 140);

const gateway = new Gateway({
  root,
  env: {
    SUPABASE_URL: apiUrl,
    SUPABASE_DB_URL: dbUrl,
    SUPABASE_ANON_KEY: keys.anon_key,
    SUPABASE_SERVICE_ROLE_KEY: keys.service_role_key,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.anon_key }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.service_role_key }),
    // The legacy HS256 secret this stack signs with, so functions verify user tokens themselves.
    SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
  },
  workersPerFunction: defaultWorkers,
  requestsPerWorker: defaultRequestsPerWorker,
  wallClockMs: Number(Deno.env.get("SOULPRINT_FUNCTION_WALL_MS") ?? 150_000),
  memoryMb: Number(Deno.env.get("SOULPRINT_FUNCTION_HEAP_MB") ?? 150), // the edge runtime's per-worker default
  // Measured on a 1 GB ingest: young generation uncapped, a warm worker peaks at 210 MB RSS
  // (35 MB/s); capped at 8 MB, 136 MB (33 MB/s).
  semiSpaceMb: Number(Deno.env.get("SOULPRINT_FUNCTION_SEMI_SPACE_MB") ?? 8),
  softRssMb: defaultSoftRssMb,
  logFile: `${state}/logs/functions.log`,
  killRate: () => killRate,
});
const storage = new StorageApi(sql, `${state}/storage`);
const net = new NetWorker(sql);
void net.run();

// The gateway's chaos knob lives in the same settings table as the net worker's.
setInterval(async () => {
  try {
    const rows = await sql`select key, value from local_platform.settings where key like 'gateway_%'`;
    killRate = Number(rows.find((r) => r.key === "gateway_kill_rate")?.value ?? 0);
    const knob = (key: string, fallback: number) => Number(rows.find((r) => r.key === key)?.value ?? 0) || fallback;
    gateway.setLimits({
      workersPerFunction: knob("gateway_workers_per_function", defaultWorkers),
      requestsPerWorker: knob("gateway_requests_per_worker", defaultRequestsPerWorker),
      softRssMb: knob("gateway_soft_rss_mb", defaultSoftRssMb),
    });
  } catch { /* database restarting: keep the last value */ }
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
  if (url.pathname === "/_platform/health") {
    let db = false;
    try {
      await sql`select 1`;
      db = true;
    } catch { /* reported below */ }
    const netAge = Date.now() - net.lastPollAt;
    return Response.json({
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
