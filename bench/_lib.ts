/** Shared helpers for benchmarks and the chaos scenario (local platform only). */
import { parseArgs } from "node:util";
import type postgres from "postgres";

export { LOCAL_API_URL as API_URL, LOCAL_DB_URL as DB_URL } from "../platform/addresses.ts";

type Widen<T> = T extends number ? number : T extends boolean ? boolean : string;

/**
 * A benchmark's command-line options (`--name value`, `--flag`), parsed with node:util
 * parseArgs. Each option is declared by its default; its type follows the default's (a number
 * default makes the value a number). Unknown options, missing values and non-numbers end the
 * run with a message naming the option. A leading `--` (from `deno task x -- ...`) is ignored.
 * @throws Error naming the offending option.
 */
export function benchArgs<const T extends Record<string, string | number | boolean>>(
  defaults: T,
  argv: readonly string[] = Deno.args,
): { [K in keyof T]: Widen<T[K]> } {
  const options: Record<string, { type: "string" | "boolean"; default: string | boolean }> = {};
  for (const [k, d] of Object.entries(defaults)) {
    options[k] = typeof d === "boolean" ? { type: "boolean", default: d } : { type: "string", default: String(d) };
  }
  const args = argv[0] === "--" ? argv.slice(1) : [...argv];
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  const out: Record<string, string | number | boolean> = {};
  for (const [k, d] of Object.entries(defaults)) {
    const v = values[k] as string | boolean;
    if (typeof d === "number") {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n)) throw new Error(`--${k}: expected a number, got ${JSON.stringify(v)}`);
      out[k] = n;
    } else out[k] = v;
  }
  return out as { [K in keyof T]: Widen<T[K]> };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** Sets a chaos knob and waits until the platform has re-read it (it polls every second). */
export async function setKnob(sql: postgres.Sql, key: string, value: number): Promise<void> {
  await sql`update local_platform.settings set value = ${value} where key = ${key}`;
  await new Promise((r) => setTimeout(r, 1300));
}

export async function createUsers(sql: postgres.Sql, n: number, label: string): Promise<string[]> {
  const rows = await sql`insert into auth.users (id, email)
    select gen_random_uuid(), ${label} || '-' || g || '-' || substr(md5(random()::text), 1, 6) || '@bench.test'
      from generate_series(1, ${n}) g returning id`;
  return rows.map((r) => r.id as string);
}

export async function startSelftests(
  sql: postgres.Sql,
  users: string[],
  tasks: number,
  workMs: number,
): Promise<string[]> {
  const rows = await sql`select private.start_selftest(u, ${tasks}, ${workMs}) as job from unnest(${users}::uuid[]) u`;
  return rows.map((r) => r.job as string);
}

/** Waits until every job is terminal or `timeoutMs` passes; returns the non-terminal count. */
export async function waitTerminal(
  sql: postgres.Sql,
  jobs: string[],
  timeoutMs: number,
  onTick?: (open: number) => void,
) {
  const until = Date.now() + timeoutMs;
  let open = jobs.length;
  while (Date.now() < until) {
    const [r] = await sql`select count(*)::int as n from public.processing_jobs
                           where id = any(${jobs}) and status not in ('complete', 'failed', 'cancelled')`;
    open = r!.n;
    onTick?.(open);
    if (open === 0) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  return open;
}

/** Uploads `bytes` as a new user's export, starts the job and waits for it to end. */
export async function importAndWait(
  sql: postgres.Sql,
  apiUrl: string,
  bytes: Uint8Array,
  label: string,
  timeoutMs = 600_000,
) {
  const { createClient } = await import("@supabase/supabase-js");
  const { projectKeys, userToken } = await import("../platform/jwt.ts");
  const [u] = await createUsers(sql, 1, label);
  const client = createClient(apiUrl, (await projectKeys()).anon_key, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${await userToken(u!)}` } },
  });
  const key = `${u}/${Date.now()}-export.json`;
  const up = await client.storage.from("imports").upload(key, bytes, { contentType: "application/octet-stream" });
  if (up.error) throw up.error;
  const t0 = Date.now();
  const [job] = await sql`insert into public.processing_jobs (user_id, storage_path) values (${u!}, ${
    "imports/" + key
  }) returning id`;
  await waitTerminal(sql, [job!.id], timeoutMs);
  const [j] = await sql`select * from public.processing_jobs where id = ${job!.id}`;
  return { userId: u!, job: j!, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Waits until no autovacuum worker has run for 10 s (at most 5 minutes), and says how long it
 * waited: a previous run's deleted rows (a 1 GB run leaves ~1 GB to vacuum) are otherwise
 * vacuumed beside the next import, which then measured 195-203 s at 1 GB against 150-156 s on a
 * quiet database.
 */
export async function quietDatabase(sql: postgres.Sql): Promise<void> {
  const t0 = performance.now();
  for (let quiet = 0; quiet < 5 && performance.now() - t0 < 300_000;) {
    const [r] = await sql`select count(*)::int as n from pg_stat_activity where query like 'autovacuum:%'`;
    quiet = r!.n ? 0 : quiet + 1;
    await new Promise((res) => setTimeout(res, 2_000));
  }
  console.error(`database quiet after ${Math.round((performance.now() - t0) / 100) / 10} s`);
}
