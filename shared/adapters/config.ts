/**
 * The only reader of the environment. Reads everything once, validates, and returns a frozen
 * object; a missing or malformed variable fails startup with one error naming all of them.
 */
import { PipelineError } from "../processors/errors.ts";

export interface PlatformConfig {
  /** Base URL of the project API (Storage, functions). */
  readonly supabaseUrl: string;
  /** Direct Postgres URL injected by the platform (transaction pooler in production). */
  readonly dbUrl: string;
  /** Secret keys that authenticate server-to-server calls (the service secret). */
  readonly serviceKeys: readonly string[];
  /** Completion notification endpoint and its bearer secret (optional). */
  readonly webhookUrl: string | null;
  readonly webhookSecret: string | null;
}

type Env = { get(name: string): string | undefined };

function parseKeyMap(raw: string | undefined): string[] {
  if (!raw) return [];
  try {
    const v = JSON.parse(raw);
    return typeof v === "object" && v ? Object.values(v).filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Loads the platform configuration.
 * @throws PipelineError CONFIG_INVALID naming every missing or malformed variable.
 */
export function loadPlatformConfig(env: Env = Deno.env): PlatformConfig {
  const problems: string[] = [];
  const url = env.get("SUPABASE_URL");
  const dbUrl = env.get("SUPABASE_DB_URL");
  if (!url || !/^https?:\/\//.test(url)) problems.push("SUPABASE_URL (missing or not an http(s) URL)");
  if (!dbUrl || !/^postgres(ql)?:\/\//.test(dbUrl)) problems.push("SUPABASE_DB_URL (missing or not a postgres URL)");
  const serviceKeys = [
    ...parseKeyMap(env.get("SUPABASE_SECRET_KEYS")),
    env.get("SUPABASE_SERVICE_ROLE_KEY"),
  ].filter((k): k is string => !!k);
  if (serviceKeys.length === 0) problems.push("SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY (missing)");
  if (problems.length) {
    throw new PipelineError("CONFIG_INVALID", `invalid configuration: ${problems.join("; ")}`);
  }
  const webhookUrl = env.get("COMPLETION_WEBHOOK_URL") || null;
  if (webhookUrl && !/^https?:\/\//.test(webhookUrl)) problems.push("COMPLETION_WEBHOOK_URL (not an http(s) URL)");
  if (problems.length) throw new PipelineError("CONFIG_INVALID", `invalid configuration: ${problems.join("; ")}`);
  return Object.freeze({
    supabaseUrl: url!.replace(/\/$/, ""),
    dbUrl: dbUrl!,
    serviceKeys: Object.freeze(serviceKeys),
    webhookUrl,
    webhookSecret: env.get("COMPLETION_WEBHOOK_SECRET") || null,
  });
}
