/**
 * Test support: connections to the running local platform (started by `./soulprint test`).
 */
import postgres from "postgres";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { LOCAL_API_URL as API_URL, LOCAL_DB_URL as DB_URL } from "../../platform/addresses.ts";
import { projectKeys, userToken } from "../../platform/jwt.ts";

export { API_URL, DB_URL };

export const keys = await projectKeys();

/** A superuser connection for arranging and inspecting state; close it with `end()`. */
export function adminDb(max = 4): postgres.Sql {
  return postgres(DB_URL, { max, onnotice: () => {}, prepare: false });
}

/** Creates an auth user and returns its id and a fresh access token. */
export async function createUser(sql: postgres.Sql, label = "user"): Promise<{ id: string; token: string }> {
  const id = crypto.randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.test`;
  await sql`insert into auth.users (id, email) values (${id}, ${email})`;
  return { id, token: await userToken(id, email) };
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
