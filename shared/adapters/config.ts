/**
 * The only reader of the environment. Reads everything once, validates, and returns a frozen
 * object; a missing or malformed variable fails startup with one error naming all of them.
 */
import { PipelineError } from "../processors/errors.ts";
import { DEFAULT_PRICES, type Prices } from "../processors/pricing.ts";

export interface PlatformConfig {
  /** Base URL of the project API (Storage, functions). */
  readonly supabaseUrl: string;
  /** Direct Postgres URL injected by the platform (transaction pooler in production). */
  readonly dbUrl: string;
  /**
   * Secret keys that authenticate server-to-server calls: every `sb_secret_...` key of
   * SUPABASE_SECRET_KEYS and the legacy service_role JWT (SUPABASE_SERVICE_ROLE_KEY), whichever
   * the project has, so kicks work with either generation and across a key rotation.
   */
  readonly serviceKeys: readonly string[];
  /**
   * Completion webhook endpoint and its Standard Webhooks signing secret (`whsec_<base64>`):
   * both or neither. See {@link webhookProblems} for the rules.
   */
  readonly webhookUrl: string | null;
  readonly webhookSecret: string | null;
}

type Env = { get(name: string): string | undefined };

/** The one error every loader throws: CONFIG_INVALID, with the list of problems as its cause. */
function configError(problems: string[]): PipelineError {
  return new PipelineError("CONFIG_INVALID", `invalid configuration: ${problems.join("; ")}`, { cause: problems });
}

/**
 * Runs several loaders against one environment and throws one CONFIG_INVALID naming every
 * problem of all of them (each named once), so a misconfigured function is fixed in one
 * restart, not one per loader.
 * @throws PipelineError CONFIG_INVALID
 */
export function loadConfig<const T extends Record<string, (env: Env) => unknown>>(
  loaders: T,
  env: Env = Deno.env,
): { [K in keyof T]: ReturnType<T[K]> } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, load] of Object.entries(loaders)) {
    try {
      out[name] = load(env);
    } catch (err) {
      if (!(err instanceof PipelineError && err.code === "CONFIG_INVALID" && Array.isArray(err.cause))) throw err;
      for (const p of err.cause as string[]) if (!problems.includes(p)) problems.push(p);
    }
  }
  if (problems.length) throw configError(problems);
  return out as { [K in keyof T]: ReturnType<T[K]> };
}

/** The secret keys in SUPABASE_SECRET_KEYS (`{"name": "sb_secret_..."}`); null when it is not such an object. */
function parseKeyMap(raw: string): string[] | null {
  try {
    const v = JSON.parse(raw);
    if (typeof v !== "object" || !v || Array.isArray(v)) return null;
    const keys = Object.values(v);
    return keys.every((x) => typeof x === "string" && x) ? keys as string[] : null;
  } catch {
    return null;
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
  const rawKeys = env.get("SUPABASE_SECRET_KEYS");
  const keyMap = rawKeys ? parseKeyMap(rawKeys) : [];
  if (keyMap === null) problems.push('SUPABASE_SECRET_KEYS (not a JSON object of keys: {"name": "sb_secret_..."})');
  const serviceKeys = [...keyMap ?? [], env.get("SUPABASE_SERVICE_ROLE_KEY")].filter((k): k is string => !!k);
  if (serviceKeys.length === 0 && keyMap !== null) {
    problems.push("SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY (missing)");
  }
  const webhookUrl = env.get("COMPLETION_WEBHOOK_URL") || null;
  const webhookSecret = env.get("COMPLETION_WEBHOOK_SECRET") || null;
  problems.push(...webhookProblems(webhookUrl, webhookSecret, url?.startsWith("http://") ?? false));
  if (problems.length) throw configError(problems);
  return Object.freeze({
    supabaseUrl: url!.replace(/\/$/, ""),
    dbUrl: dbUrl!,
    serviceKeys: Object.freeze(serviceKeys),
    webhookUrl,
    webhookSecret,
  });
}

/** Hosts that never leave the machine, so plain http to them exposes nothing. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" ||
    /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Problems with the completion webhook settings (empty when they are usable or both unset).
 * - The URL is https. Plain http is allowed only to a loopback host, or when the project itself
 *   is served over plain http (`SUPABASE_URL` http://…: a local stack; hosted projects are https).
 * - A URL needs a secret: every delivery is signed, and a receiver cannot trust an unsigned one.
 * - The secret is `whsec_` + base64 of 24 to 64 bytes (the Standard Webhooks form). A plain
 *   string is refused rather than guessed at: receivers' Standard Webhooks libraries would
 *   base64-decode it to a different key, and every signature would silently fail to verify.
 * @param platformIsLocal whether the project is served over plain http (a local stack).
 */
export function webhookProblems(url: string | null, secret: string | null, platformIsLocal: boolean): string[] {
  const problems: string[] = [];
  if (url) {
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
      problems.push("COMPLETION_WEBHOOK_URL (not an http(s) URL)");
    } else if (parsed.protocol === "http:" && !platformIsLocal && !isLoopbackHost(parsed.hostname)) {
      problems.push("COMPLETION_WEBHOOK_URL (must be https; plain http only to a loopback host or on a local stack)");
    }
    if (!secret) problems.push("COMPLETION_WEBHOOK_SECRET (missing: required with COMPLETION_WEBHOOK_URL)");
  }
  if (secret && signingKeyLength(secret) === null) {
    problems.push("COMPLETION_WEBHOOK_SECRET (expected whsec_ followed by the base64 of 24 to 64 random bytes)");
  }
  return problems;
}

/** Bytes of key in a `whsec_<base64>` secret, or null when it is not of that form or size. */
function signingKeyLength(secret: string): number | null {
  const b64 = secret.match(/^whsec_([A-Za-z0-9+/]+={0,2})$/)?.[1];
  if (!b64 || b64.length % 4 !== 0) return null;
  const n = atob(b64).length;
  return n >= 24 && n <= 64 ? n : null;
}

/**
 * Model providers (LLM_PROVIDER, ANTHROPIC_*, AWS_*, BEDROCK_*, EMBEDDING_*, LLM_RPM/TPM, prices);
 * see shared/adapters/providers.ts for the variables and defaults.
 */

export interface ProviderConfig {
  llm: "offline" | "anthropic" | "bedrock";
  embedding: "offline" | "bedrock";
  anthropic: { apiKey?: string; baseUrl?: string; model: string };
  bedrock: {
    region: string;
    endpoint?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    model: string;
    embeddingModel: string;
  };
  dimension: number;
  limits: { rpm: number; tpm: number };
  prices: Prices;
  /**
   * LLM_CAPTURE_FILE: when set, every model request of the pipeline stages and its reply are
   * appended to this file as JSON lines (llm/capture.ts). For measurement only: it holds the
   * person's data in clear. @default null (off)
   */
  captureFile: string | null;
}

/** @throws PipelineError CONFIG_INVALID naming every problem. */
export function loadProviderConfig(env: Env = Deno.env): ProviderConfig {
  const problems: string[] = [];
  const num = (k: string, d: number) => {
    const v = env.get(k);
    if (v === undefined || v === "") return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) problems.push(`${k} (not a positive number)`);
    return n;
  };
  const hasAws = !!env.get("AWS_ACCESS_KEY_ID") && !!env.get("AWS_SECRET_ACCESS_KEY");
  const llm =
    (env.get("LLM_PROVIDER") || (env.get("ANTHROPIC_API_KEY") ? "anthropic" : "offline")) as ProviderConfig["llm"];
  const embedding = (env.get("EMBEDDING_PROVIDER") || (hasAws ? "bedrock" : "offline")) as ProviderConfig["embedding"];
  if (!["offline", "anthropic", "bedrock"].includes(llm)) {
    problems.push(`LLM_PROVIDER (${llm}: expected offline, anthropic or bedrock)`);
  }
  if (!["offline", "bedrock"].includes(embedding)) {
    problems.push(`EMBEDDING_PROVIDER (${embedding}: expected offline or bedrock)`);
  }
  if (llm === "anthropic" && !env.get("ANTHROPIC_API_KEY")) {
    problems.push("ANTHROPIC_API_KEY (missing for LLM_PROVIDER=anthropic)");
  }
  if ((llm === "bedrock" || embedding === "bedrock") && !hasAws) {
    problems.push("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (missing for bedrock)");
  }
  const cfg: ProviderConfig = {
    llm,
    embedding,
    anthropic: {
      apiKey: env.get("ANTHROPIC_API_KEY"),
      baseUrl: env.get("ANTHROPIC_BASE_URL"),
      model: env.get("ANTHROPIC_MODEL") || "claude-haiku-4-5-20251001",
    },
    bedrock: {
      region: env.get("AWS_REGION") || "us-east-1",
      endpoint: env.get("BEDROCK_ENDPOINT"),
      accessKeyId: env.get("AWS_ACCESS_KEY_ID"),
      secretAccessKey: env.get("AWS_SECRET_ACCESS_KEY"),
      model: env.get("BEDROCK_MODEL_ID") || "us.anthropic.claude-haiku-4-5-20251001-v1:0",
      embeddingModel: env.get("BEDROCK_EMBEDDING_MODEL_ID") || "amazon.titan-embed-text-v2:0",
    },
    dimension: num("EMBEDDING_DIMENSION", 768),
    limits: { rpm: num("LLM_RPM", 50), tpm: num("LLM_TPM", 200_000) },
    prices: {
      llmInputPerMTok: num("LLM_PRICE_INPUT_PER_MTOK", DEFAULT_PRICES.llmInputPerMTok),
      llmOutputPerMTok: num("LLM_PRICE_OUTPUT_PER_MTOK", DEFAULT_PRICES.llmOutputPerMTok),
      embeddingPerMTok: num("EMBEDDING_PRICE_PER_MTOK", DEFAULT_PRICES.embeddingPerMTok),
    },
    captureFile: env.get("LLM_CAPTURE_FILE") || null,
  };
  if (problems.length) throw configError(problems);
  return Object.freeze(cfg);
}

/** How the user-facing functions (query, chat) check callers and limit them. */
export interface UserAccessConfig {
  /** Inline JWKS (SUPABASE_JWKS, `{"keys":[...]}` or `[...]`), else null. */
  readonly jwks: { keys: Record<string, unknown>[] } | null;
  /** Where to fetch the JWKS when none is inline: `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  /** Legacy HS256 secret (SUPABASE_JWT_SECRET or JWT_SECRET), or null when HS256 tokens are refused. */
  readonly jwtSecret: string | null;
  /** Per-user token bucket per function: USER_RATE_BURST requests (@default 20), refilled at USER_RATE_PER_MINUTE (@default 10). */
  readonly userRate: { burst: number; perMinute: number };
}

/** @throws PipelineError CONFIG_INVALID naming every problem. */
export function loadUserAccessConfig(env: Env = Deno.env): UserAccessConfig {
  const problems: string[] = [];
  const url = env.get("SUPABASE_URL");
  if (!url || !/^https?:\/\//.test(url)) problems.push("SUPABASE_URL (missing or not an http(s) URL)");
  let jwks: UserAccessConfig["jwks"] = null;
  const rawJwks = env.get("SUPABASE_JWKS");
  if (rawJwks) {
    try {
      const v = JSON.parse(rawJwks);
      const keys = Array.isArray(v) ? v : v?.keys;
      if (!Array.isArray(keys) || keys.some((k) => typeof k !== "object" || !k)) throw new Error();
      jwks = { keys };
    } catch {
      problems.push('SUPABASE_JWKS (not a JSON Web Key Set: {"keys":[...]} or [...])');
    }
  }
  const jwtSecret = env.get("SUPABASE_JWT_SECRET") || env.get("JWT_SECRET") || null;
  if (jwtSecret && jwtSecret.length < 32) problems.push("SUPABASE_JWT_SECRET (shorter than 32 characters)");
  const num = (k: string, d: number) => {
    const v = env.get(k);
    const n = v === undefined || v === "" ? d : Number(v);
    if (!Number.isFinite(n) || n <= 0) problems.push(`${k} (not a positive number)`);
    return n;
  };
  const userRate = { burst: num("USER_RATE_BURST", 20), perMinute: num("USER_RATE_PER_MINUTE", 10) };
  if (problems.length) throw configError(problems);
  return Object.freeze({
    jwks,
    jwksUrl: `${url!.replace(/\/$/, "")}/auth/v1/.well-known/jwks.json`,
    jwtSecret,
    userRate: Object.freeze(userRate),
  });
}

/** Which browser origins may call the user-facing functions (query, chat). */
export interface CorsConfig {
  /** Exact origins (`https://app.example.com`), or `["*"]` for any (@default `["*"]`). */
  readonly allowedOrigins: readonly string[];
}

/**
 * CORS_ALLOWED_ORIGINS: comma-separated origins, or `*` (the default).
 * @throws PipelineError CONFIG_INVALID on a value that is not `*` or an origin.
 */
export function loadCorsConfig(env: Env = Deno.env): CorsConfig {
  const raw = env.get("CORS_ALLOWED_ORIGINS")?.trim() || "*";
  const origins = raw.split(",").map((o) => o.trim()).filter(Boolean);
  const bad = origins.filter((o) => o !== "*" && !/^https?:\/\/[^/\s]+$/.test(o));
  if (bad.length || origins.length === 0) {
    throw new PipelineError(
      "CONFIG_INVALID",
      `invalid configuration: CORS_ALLOWED_ORIGINS (${
        bad.join(", ") || "empty"
      }: expected * or origins like https://app.example.com)`,
    );
  }
  return Object.freeze({ allowedOrigins: Object.freeze(origins.includes("*") ? ["*"] : origins) });
}
