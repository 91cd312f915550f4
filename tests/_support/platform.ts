/**
 * Test support: connections to the running local platform (started by `./soulprint test`).
 */
import postgres from "postgres";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { LOCAL_API_URL as API_URL, LOCAL_DB_URL as DB_URL } from "../../platform/addresses.ts";
import {
  type KeyMode,
  keyModeFromEnv,
  LOCAL_JWKS,
  LOCAL_JWT_SECRET,
  projectKeys,
  roleToken,
  userToken,
} from "../../platform/jwt.ts";

export { API_URL, DB_URL };

/**
 * The key mode of the running platform (its health report says), so tests mint what it accepts
 * whatever SOULPRINT_KEYS this process has; SOULPRINT_KEYS when no platform answers.
 */
export const keyMode: KeyMode = await (async () => {
  try {
    const health = await (await fetch(`${API_URL}/_platform/health`, { signal: AbortSignal.timeout(2000) })).json();
    if (health.keys === "legacy" || health.keys === "new") return health.keys;
  } catch { /* no platform running: a unit test */ }
  return keyModeFromEnv();
})();

/** The project's API keys: anon/service_role JWTs (legacy) or publishable/secret keys (new). */
export const keys = await projectKeys(keyMode);

/** A valid JWT that is not a user's (role anon): passes the gateway's verify_jwt, not a function's user check. */
export const anonJwt = await roleToken("anon", keyMode);

/** What the platform gives functions to verify user tokens in this mode (loadUserAccessConfig input). */
export const userAuthEnv: [string, string][] = keyMode === "new"
  ? [["SUPABASE_JWKS", JSON.stringify(LOCAL_JWKS)]]
  : [["SUPABASE_JWT_SECRET", LOCAL_JWT_SECRET]];

/** A superuser connection for arranging and inspecting state; close it with `end()`. */
export function adminDb(max = 4): postgres.Sql {
  return postgres(DB_URL, { max, onnotice: () => {}, prepare: false });
}

/** Creates an auth user and returns its id and a fresh access token. */
export async function createUser(sql: postgres.Sql, label = "user"): Promise<{ id: string; token: string }> {
  const id = crypto.randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.test`;
  await sql`insert into auth.users (id, email) values (${id}, ${email})`;
  return { id, token: await userToken(id, email, 3600, keyMode) };
}

/** A supabase-js client acting as the given user (or anon when no token). */
export function userClient(token?: string): SupabaseClient {
  return createClient(API_URL, keys.anon_key, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
}

/** Polls `probe` until it returns a non-null value or `timeoutMs` passes. */
export async function waitFor<T>(
  probe: () => Promise<T | null | undefined>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The first row of a result; fails the test when there is none. */
export function first<T>(rows: readonly T[]): T {
  if (rows.length === 0) throw new Error("expected at least one row");
  return rows[0]!;
}

/** Cancels the job unless it has already ended (a test's import must not outlive the test). */
export async function cancelIfActive(sql: postgres.Sql, job: string): Promise<void> {
  await sql`select public.cancel_job(id) from public.processing_jobs
             where id = ${job} and status not in ('complete', 'failed', 'cancelled')`;
}

/**
 * Cancels every test person's unfinished import. A test that points all functions at another model
 * provider calls it first, so the calls it records are its own and not those of an import that an
 * earlier test left running.
 */
export async function cancelTestImports(sql: postgres.Sql): Promise<void> {
  await sql`select public.cancel_job(j.id) from public.processing_jobs j join auth.users u on u.id = j.user_id
             where j.status not in ('complete', 'failed', 'cancelled') and u.email like '%@example.test'`;
}

/**
 * Starts an import as the frontend does: uploads `bytes` to the user's folder (skipped when null,
 * for a missing upload) and inserts their job under their role and claims (RLS applies).
 * Returns the job id.
 */
export async function startUserImport(
  sql: postgres.Sql,
  user: { id: string; token: string },
  bytes: Uint8Array | null,
  name = "export.json",
): Promise<string> {
  const key = `${user.id}/${crypto.randomUUID()}-${name}`;
  if (bytes) {
    const up = await userClient(user.token).storage.from("imports").upload(key, bytes, {
      contentType: "application/octet-stream",
    });
    if (up.error) throw new Error(`upload failed: ${up.error.message}`);
  }
  return await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: user.id, role: "authenticated" })}, true)`;
    await tx`set local role authenticated`;
    const [row] = await tx`insert into public.processing_jobs (storage_path) values (${`imports/${key}`}) returning id`;
    return row!.id as string;
  });
}
