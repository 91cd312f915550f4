/**
 * Deploys the project to a hosted Supabase project, and checks offline that it can.
 *
 *   ./soulprint deploy --project-ref REF [--env-file FILE] [--project-url URL] [--dry-run] [--skip-check] [--skip-smoke]
 *   ./soulprint deploy --check          offline: everything deploy relies on
 *   ./soulprint deploy --sync-import-maps   rewrite supabase/functions/<name>/deno.json from deno.json
 *
 * Environment: SUPABASE_ACCESS_TOKEN (the CLI's management API token), SUPABASE_DB_URL (the
 * project's Postgres connection string, session pooler; used for migrations, Vault and the smoke
 * check), SUPABASE_SERVICE_ROLE_KEY (else fetched with `supabase projects api-keys`),
 * SUPABASE_DB_PASSWORD (optional, read by `supabase link`).
 *
 * Steps: link → db push (every migration, pg_net included) → Vault secrets project_url and
 * service_role_key → function secrets from the env file → functions deploy (server-side bundling,
 * each function with its own deno.json) → smoke check (health round trip through pg_net, then a
 * selftest job to completion).
 */
import postgres from "postgres";
import { parse as parseToml } from "smol-toml";
import { loadPlatformConfig, loadProviderConfig, loadUserAccessConfig } from "../shared/adapters/config.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SUPABASE = `${ROOT}/node_modules/.bin/supabase`;
const DENO = Deno.execPath();
/**
 * The checks resolve the same pinned package versions as every local run: a copy of the root
 * deno.lock (a copy, because Deno rewrites a lock file to fit the config it runs with).
 */
let LOCK = "--no-lock";
/** Supabase's limit on one function's bundle. */
export const BUNDLE_LIMIT_BYTES = 20 * 1024 * 1024;

export class DeployError extends Error {}

// ---------------------------------------------------------------- arguments and plan

export interface DeployOptions {
  mode: "deploy" | "check" | "sync";
  projectRef: string;
  projectUrl: string;
  envFile: string | null;
  dryRun: boolean;
  skipCheck: boolean;
  skipSmoke: boolean;
}

/** @throws DeployError on unknown flags, a missing or malformed project ref or URL. */
export function parseDeployArgs(
  args: string[],
  env: { get(k: string): string | undefined },
): DeployOptions {
  const o: DeployOptions = {
    mode: "deploy",
    projectRef: env.get("SUPABASE_PROJECT_REF") ?? "",
    projectUrl: "",
    envFile: null,
    dryRun: false,
    skipCheck: false,
    skipSmoke: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) {
        throw new DeployError(`${a} needs a value`);
      }
      return v;
    };
    if (a === "--check") o.mode = "check";
    else if (a === "--sync-import-maps") o.mode = "sync";
    else if (a === "--project-ref") o.projectRef = value();
    else if (a === "--project-url") o.projectUrl = value();
    else if (a === "--env-file") o.envFile = value();
    else if (a === "--dry-run") o.dryRun = true;
    else if (a === "--skip-check") o.skipCheck = true;
    else if (a === "--skip-smoke") o.skipSmoke = true;
    else throw new DeployError(`unknown argument ${a}`);
  }
  if (o.mode !== "deploy") return o;
  if (!o.projectRef) {
    throw new DeployError(
      "--project-ref REF is required (or SUPABASE_PROJECT_REF)",
    );
  }
  // Supabase project refs are 20 lowercase letters.
  if (!/^[a-z]{20}$/.test(o.projectRef)) {
    throw new DeployError(`--project-ref ${o.projectRef}: not a project ref`);
  }
  o.projectUrl = (o.projectUrl || `https://${o.projectRef}.supabase.co`)
    .replace(/\/+$/, "");
  if (!/^https:\/\/[^/]+$/.test(o.projectUrl)) {
    throw new DeployError(`--project-url ${o.projectUrl}: not an https origin`);
  }
  return o;
}

/** Names the platform injects into every function; Supabase refuses to set them as secrets. */
const RESERVED = /^SUPABASE_/;
/** Every variable the functions read besides the injected ones (shared/adapters/config.ts). */
export const FUNCTION_SECRET_NAMES = [
  "LLM_PROVIDER",
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_MODEL",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "BEDROCK_ENDPOINT",
  "BEDROCK_MODEL_ID",
  "EMBEDDING_PROVIDER",
  "BEDROCK_EMBEDDING_MODEL_ID",
  "EMBEDDING_DIMENSION",
  "LLM_RPM",
  "LLM_TPM",
  "LLM_PRICE_INPUT_PER_MTOK",
  "LLM_PRICE_OUTPUT_PER_MTOK",
  "EMBEDDING_PRICE_PER_MTOK",
  "COMPLETION_WEBHOOK_URL",
  "COMPLETION_WEBHOOK_SECRET",
  "USER_RATE_BURST",
  "USER_RATE_PER_MINUTE",
  "CORS_ALLOWED_ORIGINS",
  "JWT_SECRET",
];

/** Parses a .env file (NAME=value, optional quotes, # comments). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!m) {
      throw new DeployError(`env file line ${n + 1}: expected NAME=value`);
    }
    let v = m[2]!;
    if (/^".*"$|^'.*'$/.test(v)) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/**
 * The function secrets to set, validated the way the functions will read them (so a bad value
 * fails here, not at the first request), with the project's URL standing in for the injected ones.
 * @throws DeployError naming reserved or unknown names and invalid values.
 */
export function functionSecrets(
  vars: Record<string, string>,
  projectUrl: string,
): Record<string, string> {
  const reserved = Object.keys(vars).filter((k) => RESERVED.test(k));
  if (reserved.length) {
    throw new DeployError(
      `${reserved.join(", ")}: set by Supabase in every function; remove from the env file`,
    );
  }
  const unknown = Object.keys(vars).filter((k) => !FUNCTION_SECRET_NAMES.includes(k));
  if (unknown.length) {
    throw new DeployError(
      `${unknown.join(", ")}: not read by any function (typo?)`,
    );
  }
  const env = new Map(Object.entries({
    ...vars,
    SUPABASE_URL: projectUrl,
    SUPABASE_DB_URL: "postgresql://injected",
    SUPABASE_SERVICE_ROLE_KEY: "injected",
  }));
  try {
    loadPlatformConfig(env);
    loadProviderConfig(env);
    loadUserAccessConfig(env);
  } catch (e) {
    throw new DeployError(`env file: ${(e as Error).message}`);
  }
  return vars;
}

export interface Step {
  title: string;
  argv: string[];
  /** Extra environment for the command (values are never printed). */
  env?: Record<string, string>;
}

/** The CLI commands deploy runs, in order (Vault and the smoke check run over SUPABASE_DB_URL). */
export function deploySteps(
  o: DeployOptions,
  secretsFile: string | null,
): Step[] {
  const ref = ["--project-ref", o.projectRef];
  const steps: Step[] = [
    { title: "link the project", argv: [SUPABASE, "link", ...ref] },
    // The connection string, not the link: one URL for migrations, Vault and the smoke check.
    // --include-all: a migration dated before already-applied ones (20261128000150) still runs.
    {
      title: "push migrations",
      argv: [
        SUPABASE,
        "db",
        "push",
        "--db-url",
        "$SUPABASE_DB_URL",
        "--include-all",
        "--yes",
      ],
    },
  ];
  if (secretsFile) {
    steps.push({
      title: "set function secrets",
      argv: [SUPABASE, "secrets", "set", "--env-file", secretsFile, ...ref],
    });
  }
  // --use-api: bundled by Supabase, no Docker; each function resolves imports through its own
  // supabase/functions/<name>/deno.json (checked by --check).
  steps.push({
    title: "deploy every function",
    argv: [SUPABASE, "functions", "deploy", "--use-api", ...ref, "--yes"],
  });
  return steps;
}

function show(argv: string[]): string {
  return argv.map((a) => a.replace(ROOT + "/", "")).map((a) => /[\s"']/.test(a) ? JSON.stringify(a) : a).join(" ");
}

// ---------------------------------------------------------------- running commands

async function run(
  argv: string[],
  opts: { env?: Record<string, string>; quiet?: boolean } = {},
) {
  const argsResolved = argv.map((a) => a === "$SUPABASE_DB_URL" ? Deno.env.get("SUPABASE_DB_URL")! : a);
  const out = await new Deno.Command(argsResolved[0]!, {
    args: argsResolved.slice(1),
    cwd: ROOT,
    env: opts.env,
    stdout: opts.quiet ? "piped" : "inherit",
    stderr: opts.quiet ? "piped" : "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) {
    if (opts.quiet) {
      console.error(text.trim().split("\n").slice(-30).join("\n"));
    }
    throw new DeployError(`${show(argv)} failed (exit ${out.code})`);
  }
  return text;
}

// ---------------------------------------------------------------- import maps (one source)

/** Names of the deployable functions: directories of supabase/functions with an index.ts. */
export function functionNames(root = ROOT): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(`${root}/supabase/functions`)) {
    if (e.isDirectory && !e.name.startsWith("_")) {
      try {
        Deno.statSync(`${root}/supabase/functions/${e.name}/index.ts`);
        names.push(e.name);
      } catch { /* not a function */ }
    }
  }
  return names.sort();
}

/**
 * What every supabase/functions/<name>/deno.json must hold: the root deno.json's imports,
 * compiler options and formatting options. `supabase functions deploy` never reads the root file, so this is how the
 * deployed bundle resolves `zod`, `postgres`… exactly as local runs and tests do.
 */
export function expectedFunctionConfig(root = ROOT): Record<string, unknown> {
  const rootConfig = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  // fmt options too (not its paths): Deno formats a file with the nearest deno.json's settings.
  const { include: _i, exclude: _e, ...fmt } = rootConfig.fmt ?? {};
  return { imports: rootConfig.imports, compilerOptions: rootConfig.compilerOptions, fmt };
}

const GENERATED_NOTE = "Generated from the root deno.json by ./soulprint deploy --sync-import-maps; do not edit.";

function functionConfigText(root: string): string {
  return JSON.stringify(
    { "//": GENERATED_NOTE, ...expectedFunctionConfig(root) },
    null,
    2,
  ) + "\n";
}

/** Function names whose deno.json is missing or differs from the root's imports. */
export function importMapDrift(root = ROOT): string[] {
  const want = JSON.stringify(expectedFunctionConfig(root));
  return functionNames(root).filter((n) => {
    try {
      const { "//": _note, ...have } = JSON.parse(
        Deno.readTextFileSync(`${root}/supabase/functions/${n}/deno.json`),
      );
      return JSON.stringify(have) !== want;
    } catch {
      return true;
    }
  });
}

export function syncImportMaps(root = ROOT): string[] {
  const drift = importMapDrift(root);
  for (const n of drift) {
    Deno.writeTextFileSync(
      `${root}/supabase/functions/${n}/deno.json`,
      functionConfigText(root),
    );
  }
  return drift;
}

/**
 * The files `supabase functions deploy` uploads for an entrypoint: the CLI finds them with this
 * regular expression over each file's text, mapping bare names through the function's import map
 * (pkg/function/deno.go, WalkImportPaths). Paths are relative to the project root.
 */
const IMPORT_PATTERN =
  /(?:import|export)\s+(?:type\s+)?(?:{[^{}]+}|.*?)\s*(?:from)?\s*['"](.*?)['"]|import\(\s*['"](.*?)['"]\)/gi;

export function uploadedFiles(
  entry: string,
  imports: Record<string, string>,
  root = ROOT,
): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const curr = queue.pop()!;
    if (seen.has(curr)) continue;
    seen.add(curr);
    let text: string;
    try {
      text = Deno.readTextFileSync(`${root}/${curr}`);
    } catch {
      continue;
    }
    for (const m of text.matchAll(IMPORT_PATTERN)) {
      let mod = (m[1] || m[2] || "").trim();
      let substituted = false;
      for (const [k, v] of Object.entries(imports)) {
        if (mod.startsWith(k)) {
          mod = v + mod.slice(k.length);
          substituted = true;
        }
      }
      if (!/\.[^./]+$/.test(mod.split("/").pop() ?? "")) continue;
      const rel = mod.startsWith("./") || mod.startsWith("../");
      if (!rel && !mod.startsWith("/")) continue;
      if (rel && !substituted) mod = normalize(`${dirname(curr)}/${mod}`);
      queue.push(normalize(mod));
    }
  }
  return seen;
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "." : p.slice(0, i);
}

function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

/** Local files in the function's module graph as Deno resolves it with the function's deno.json. */
async function graphFiles(name: string): Promise<Set<string>> {
  const dir = `supabase/functions/${name}`;
  const info = JSON.parse(
    await run([
      DENO,
      "info",
      "--json",
      LOCK,
      "--config",
      `${dir}/deno.json`,
      `${dir}/index.ts`,
    ], { quiet: true }),
  );
  const files = new Set<string>();
  for (const m of info.modules ?? []) {
    if (
      typeof m.specifier === "string" &&
      m.specifier.startsWith(`file://${ROOT}/`)
    ) {
      files.add(m.specifier.slice(`file://${ROOT}/`.length));
    }
  }
  return files;
}

// ---------------------------------------------------------------- --check

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** config.toml: every function has an entry with an explicit verify_jwt, and no entry lacks a function. */
export function configProblems(root = ROOT): string[] {
  const cfg = parseToml(
    Deno.readTextFileSync(`${root}/supabase/config.toml`),
  ) as {
    functions?: Record<string, { verify_jwt?: unknown; import_map?: unknown }>;
  };
  const declared = cfg.functions ?? {};
  const names = functionNames(root);
  const problems: string[] = [];
  for (const n of names) {
    if (typeof declared[n]?.verify_jwt !== "boolean") {
      problems.push(`[functions.${n}] has no verify_jwt`);
    }
    if (declared[n]?.import_map !== undefined) {
      problems.push(`[functions.${n}] import_map: use its deno.json instead`);
    }
  }
  for (const n of Object.keys(declared)) {
    if (!names.includes(n)) {
      problems.push(`[functions.${n}]: no such function`);
    }
  }
  return problems;
}

async function checkFunctions(results: CheckResult[]) {
  const names = functionNames();
  const imports = expectedFunctionConfig().imports as Record<string, string>;
  const drift = importMapDrift();
  results.push({
    name: "import maps",
    ok: drift.length === 0,
    detail: drift.length
      ? `out of date: ${drift.join(", ")} (run ./soulprint deploy --sync-import-maps)`
      : `${names.length} functions, each deno.json = the root imports`,
  });
  if (drift.length) return;
  // The per-function files are identical (checked above), so one type check with one of them
  // covers every entry point.
  try {
    await run([
      DENO,
      "check",
      LOCK,
      "--config",
      `supabase/functions/${names[0]}/deno.json`,
      ...names.map((n) => `supabase/functions/${n}/index.ts`),
    ], { quiet: true });
    results.push({
      name: "type check",
      ok: true,
      detail: `${names.length} functions, with their own deno.json`,
    });
  } catch (e) {
    results.push({
      name: "type check",
      ok: false,
      detail: (e as Error).message,
    });
  }
  const out = await Deno.makeTempDir({ prefix: "soulprint-bundle-" });
  try {
    const sizes: string[] = [];
    let ok = true;
    const check = async (n: string) => {
      const dir = `supabase/functions/${n}`;
      const graph = await graphFiles(n);
      const uploaded = uploadedFiles(`${dir}/index.ts`, imports);
      const missing = [...graph].filter((f) => !uploaded.has(f));
      if (missing.length) {
        ok = false;
        sizes.push(`${n}: the deploy upload would miss ${missing.join(", ")}`);
        return;
      }
      await run([
        DENO,
        "bundle",
        "--quiet",
        LOCK,
        "--config",
        `${dir}/deno.json`,
        "--platform",
        "deno",
        "-o",
        `${out}/${n}.js`,
        `${dir}/index.ts`,
      ], { quiet: true });
      const size = Deno.statSync(`${out}/${n}.js`).size;
      if (size >= BUNDLE_LIMIT_BYTES) ok = false;
      sizes.push(
        `${n} ${(size / 1024 / 1024).toFixed(2)} MB (${uploaded.size} files)`,
      );
    };
    // Two at a time: bundling is CPU-bound.
    for (let i = 0; i < names.length; i += 2) {
      await Promise.all(names.slice(i, i + 2).map(check));
    }
    results.push({
      name: "bundles",
      ok,
      detail: `limit ${BUNDLE_LIMIT_BYTES / 1024 / 1024} MB each: ${sizes.sort().join("; ")}`,
    });
  } catch (e) {
    results.push({ name: "bundles", ok: false, detail: (e as Error).message });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/** Offline: every precondition of deploy. Prints one line per check and returns whether all passed. */
export async function check(): Promise<boolean> {
  const results: CheckResult[] = [];
  const lock = await Deno.makeTempFile({ prefix: "soulprint-deno-", suffix: ".lock" });
  await Deno.copyFile(`${ROOT}/deno.lock`, lock);
  LOCK = `--lock=${lock}`;
  try {
    return await checkAll(results);
  } finally {
    await Deno.remove(lock);
  }
}

async function checkAll(results: CheckResult[]): Promise<boolean> {
  const cfg = configProblems();
  results.push({
    name: "config.toml",
    ok: cfg.length === 0,
    detail: cfg.join("; ") || "every function declared with verify_jwt",
  });
  await checkFunctions(results);
  try {
    // Also loads config.toml with the pinned CLI, which refuses what it cannot parse.
    const line = await run(["bash", `${ROOT}/platform/check-migrations.sh`], {
      quiet: true,
    });
    results.push({
      name: "migrations",
      ok: true,
      detail: line.trim().split("\n").pop()!.replace(/^migrations: /, ""),
    });
  } catch (e) {
    results.push({
      name: "migrations",
      ok: false,
      detail: (e as Error).message,
    });
  }
  for (const r of results) {
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(12)} ${r.detail}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(
    `deploy check: ${results.length - failed} passed, ${failed} failed`,
  );
  return failed === 0;
}

// ---------------------------------------------------------------- Vault and smoke check

/** Writes (or updates) the Vault secrets util.project_url() and util.service_role_key() read. */
export async function writeVaultSecrets(
  sql: postgres.Sql,
  secrets: { project_url: string; service_role_key: string },
) {
  for (const [name, value] of Object.entries(secrets)) {
    const [row] = await sql`select id from vault.secrets where name = ${name}`;
    if (row) await sql`select vault.update_secret(${row.id}, ${value})`;
    else await sql`select vault.create_secret(${value}, ${name})`;
  }
}

/** A user of its own for the smoke check's selftest job (deleted afterwards, with the job). */
const SMOKE_USER = "00000000-0000-4000-a000-0000005e1f7e";

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new DeployError(
    `${what}: no result within ${timeoutMs / 1000} s (see ops.net_errors, ops.stuck_jobs)`,
  );
}

/**
 * Proves the deployed chain end to end: a health round trip (trigger → pg_net → health function →
 * database) and a selftest job (fan-out, fan-in, sweeper) to completion.
 * @throws DeployError when either does not finish in time or the job fails.
 */
export async function smokeCheck(
  dbUrl: string,
  timeoutMs = 120_000,
): Promise<{ healthMs: number; selftestMs: number }> {
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {}, prepare: false });
  try {
    const [row] = await sql`select util.project_url() as url`;
    if (!row?.url) throw new DeployError("Vault secret project_url is empty");
    let t0 = performance.now();
    const [ping] = await sql`insert into private.health_checks default values returning id`;
    await waitFor("health round trip", timeoutMs, async () => {
      const [r] = await sql`select responded_at from private.health_checks where id = ${ping!.id}`;
      return r?.responded_at ? true : null;
    });
    const healthMs = Math.round(performance.now() - t0);
    await sql`delete from private.health_checks where id = ${ping!.id}`;

    await sql`delete from auth.users where id = ${SMOKE_USER}`;
    await sql`insert into auth.users (id, email, aud, role) values
      (${SMOKE_USER}, 'deploy-smoke-check@soulprint.invalid', 'authenticated', 'authenticated')`;
    t0 = performance.now();
    try {
      const [job] = await sql`select private.start_selftest(${SMOKE_USER}::uuid, 8, 0) as id`;
      const id = job!.id;
      const status = await waitFor("selftest job", timeoutMs, async () => {
        const [j] = await sql`select status, error_code from public.processing_jobs where id = ${id}`;
        return j && ["complete", "failed", "cancelled"].includes(j.status) ? `${j.status} ${j.error_code ?? ""}` : null;
      });
      if (!status.startsWith("complete")) {
        throw new DeployError(`selftest job ${id} ended ${status.trim()}`);
      }
    } finally {
      await sql`delete from auth.users where id = ${SMOKE_USER}`;
    }
    return { healthMs, selftestMs: Math.round(performance.now() - t0) };
  } finally {
    await sql.end();
  }
}

// ---------------------------------------------------------------- deploy

async function serviceRoleKey(ref: string): Promise<string> {
  const fromEnv = Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
  if (fromEnv) return fromEnv;
  const out = await run([
    SUPABASE,
    "projects",
    "api-keys",
    "--project-ref",
    ref,
    "--reveal",
    "-o",
    "json",
  ], {
    quiet: true,
  });
  const keys = JSON.parse(out.slice(out.indexOf("["))) as {
    name?: string;
    api_key?: string;
  }[];
  const key = keys.find((k) => k.name === "service_role")?.api_key;
  if (!key) {
    throw new DeployError(
      "no service_role key in `supabase projects api-keys`; set SUPABASE_SERVICE_ROLE_KEY",
    );
  }
  return key;
}

function defaultEnvFile(): string | null {
  for (const f of ["supabase/functions/.env"]) {
    try {
      Deno.statSync(`${ROOT}/${f}`);
      return f;
    } catch { /* absent */ }
  }
  return null;
}

export async function deploy(o: DeployOptions): Promise<void> {
  const envFile = o.envFile ?? defaultEnvFile();
  const vars = envFile ? parseEnvFile(Deno.readTextFileSync(envFile)) : {};
  const secrets = functionSecrets(vars, o.projectUrl);
  const names = Object.keys(secrets);
  console.log(`deploy: project ${o.projectRef} (${o.projectUrl})`);
  console.log(
    `deploy: function secrets from ${envFile ?? "(no env file: offline provider)"}: ${names.join(", ") || "none"}`,
  );
  console.log(
    "deploy: Vault secrets project_url, service_role_key (written over SUPABASE_DB_URL)",
  );

  let secretsFile: string | null = null;
  if (names.length) {
    secretsFile = await Deno.makeTempFile({
      prefix: "soulprint-secrets-",
      suffix: ".env",
    });
    await Deno.chmod(secretsFile, 0o600);
    await Deno.writeTextFile(
      secretsFile,
      names.map((k) => `${k}=${JSON.stringify(secrets[k])}`).join("\n") + "\n",
    );
  }
  try {
    const steps = deploySteps(o, secretsFile);
    if (o.dryRun) {
      if (!o.skipCheck) console.log("would run: ./soulprint deploy --check");
      const line = (s: Step) => console.log(`would run: ${show(s.argv)}    # ${s.title}`);
      steps.slice(0, 2).forEach(line);
      console.log("would write: Vault secrets project_url, service_role_key");
      steps.slice(2).forEach(line);
      if (!o.skipSmoke) console.log("would check: health round trip through pg_net; selftest job to completion");
      return;
    }
    const missing = ["SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_URL"].filter((k) => !Deno.env.get(k));
    if (missing.length) {
      throw new DeployError(
        `${missing.join(", ")} not set (see README, Deploy)`,
      );
    }
    if (!o.skipCheck && !(await check())) {
      throw new DeployError("deploy check failed; nothing was deployed");
    }
    const key = await serviceRoleKey(o.projectRef);
    for (const s of steps.slice(0, 2)) {
      console.log(`deploy: ${s.title}`);
      await run(s.argv, { env: s.env });
    }
    console.log("deploy: Vault secrets");
    const sql = postgres(Deno.env.get("SUPABASE_DB_URL")!, {
      max: 1,
      onnotice: () => {},
      prepare: false,
    });
    try {
      await writeVaultSecrets(sql, {
        project_url: o.projectUrl,
        service_role_key: key,
      });
    } finally {
      await sql.end();
    }
    for (const s of steps.slice(2)) {
      console.log(`deploy: ${s.title}`);
      await run(s.argv, { env: s.env });
    }
    if (o.skipSmoke) return console.log("deploy: done (smoke check skipped)");
    const r = await smokeCheck(Deno.env.get("SUPABASE_DB_URL")!);
    console.log(
      `deploy: done; health round trip ${r.healthMs} ms, selftest job ${r.selftestMs} ms`,
    );
  } finally {
    if (secretsFile) await Deno.remove(secretsFile);
  }
}

if (import.meta.main) {
  try {
    const o = parseDeployArgs(Deno.args, Deno.env);
    if (o.mode === "check") Deno.exit((await check()) ? 0 : 1);
    if (o.mode === "sync") {
      const changed = syncImportMaps();
      console.log(
        `import maps: ${changed.length ? `rewrote ${changed.join(", ")}` : "up to date"}`,
      );
    } else await deploy(o);
  } catch (e) {
    if (!(e instanceof DeployError)) throw e;
    console.error(`deploy: error: ${e.message}`);
    Deno.exit(1);
  }
}
