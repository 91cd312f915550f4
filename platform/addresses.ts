/**
 * Where the local platform listens, for everything that talks to it from outside the functions
 * (CLI, tests, benchmarks, the edge server itself). Functions never read this: they get
 * SUPABASE_URL and SUPABASE_DB_URL from the platform through shared/adapters/config.ts.
 * `platform.sh` exports SOULPRINT_DB_URL; otherwise the URL is built from SOULPRINT_DB_PORT.
 */

/** Superuser URL of the local database (no TLS: the local cluster has no certificate). */
export const LOCAL_DB_URL = Deno.env.get("SOULPRINT_DB_URL") ??
  `postgresql://postgres:postgres@127.0.0.1:${Deno.env.get("SOULPRINT_DB_PORT") ?? 54322}/postgres?sslmode=disable`;

/** Base URL of the local API edge (functions gateway, Storage, /_platform). */
export const LOCAL_API_URL = `http://127.0.0.1:${Deno.env.get("SOULPRINT_API_PORT") ?? 54321}`;
