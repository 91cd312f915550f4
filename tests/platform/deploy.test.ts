// ./soulprint deploy: argument handling, the secrets it would set, its dry-run plan, the import
// resolution `supabase functions deploy` uses, and the post-deploy smoke check run against the
// local platform (the same SQL it runs against a hosted project).
import assert from "node:assert/strict";
import {
  configProblems,
  DeployError,
  functionNames,
  functionSecrets,
  importMapDrift,
  parseDeployArgs,
  parseEnvFile,
  smokeCheck,
  syncImportMaps,
  uploadedFiles,
  writeVaultSecrets,
} from "../../cli/deploy.ts";
import { adminDb, DB_URL } from "../_support/platform.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const REF = "abcdefghijklmnopqrst";
const noEnv = new Map<string, string>();

Deno.test("deploy arguments: project ref required and checked, URL derived, unknown flags refused", () => {
  assert.throws(() => parseDeployArgs([], noEnv), /--project-ref REF is required/);
  assert.throws(() => parseDeployArgs(["--project-ref", "My-Project"], noEnv), /not a project ref/);
  assert.throws(() => parseDeployArgs(["--project-ref"], noEnv), /needs a value/);
  assert.throws(() => parseDeployArgs(["--project-ref", REF, "--force"], noEnv), /unknown argument --force/);
  assert.throws(
    () => parseDeployArgs(["--project-ref", REF, "--project-url", "http://api.example.com"], noEnv),
    /not an https origin/,
  );
  const o = parseDeployArgs(["--project-ref", REF, "--dry-run"], noEnv);
  assert.equal(o.projectUrl, `https://${REF}.supabase.co`);
  assert.equal(o.dryRun, true);
  assert.equal(parseDeployArgs([], new Map([["SUPABASE_PROJECT_REF", REF]])).projectRef, REF);
  assert.equal(parseDeployArgs(["--check"], noEnv).mode, "check", "--check needs no project");
});

Deno.test("deploy secrets: validated as the functions will read them; reserved and unknown names refused", () => {
  const url = `https://${REF}.supabase.co`;
  const vars = parseEnvFile(
    '# providers\nLLM_PROVIDER=anthropic\nexport ANTHROPIC_API_KEY="sk-ant-x"\nCORS_ALLOWED_ORIGINS=https://app.example.com\n',
  );
  assert.deepEqual(Object.keys(functionSecrets(vars, url)), [
    "LLM_PROVIDER",
    "ANTHROPIC_API_KEY",
    "CORS_ALLOWED_ORIGINS",
  ]);
  assert.equal(vars.ANTHROPIC_API_KEY, "sk-ant-x");
  assert.throws(() => functionSecrets({ SUPABASE_URL: "x" }, url), /set by Supabase/);
  assert.throws(() => functionSecrets({ ANTHROPIC_APIKEY: "x" }, url), /not read by any function/);
  assert.throws(() => functionSecrets({ LLM_PROVIDER: "anthropic" }, url), /ANTHROPIC_API_KEY/);
  assert.throws(
    () =>
      functionSecrets(
        { COMPLETION_WEBHOOK_URL: "http://hooks.example.com/x", COMPLETION_WEBHOOK_SECRET: "plain" },
        url,
      ),
    /COMPLETION_WEBHOOK/,
  );
  assert.throws(() => parseEnvFile("not a line"), DeployError);
});

Deno.test("deploy --dry-run: the CLI steps in order, secret names but never their values", async () => {
  const envFile = await Deno.makeTempFile({ suffix: ".env" });
  await Deno.writeTextFile(envFile, "ANTHROPIC_API_KEY=sk-ant-very-secret\n");
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${ROOT}/cli/deploy.ts`, "--project-ref", REF, "--env-file", envFile, "--dry-run"],
      env: { SUPABASE_ACCESS_TOKEN: "", SUPABASE_DB_URL: "" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.ok(!text.includes("very-secret"), "no secret value is printed");
    assert.match(text, /function secrets from .*: ANTHROPIC_API_KEY/);
    const steps = text.split("\n").filter((l) => /^would (run|write):/.test(l)).map((l) => l.replace(/\s+#.*/, ""));
    // "would run: <program> <a> <b>", the program's name shortened to its last part.
    assert.deepEqual(steps.map((s) => s.split(" ").slice(2, 5).map((w) => w.split("/").pop()).join(" ")), [
      "soulprint deploy --check",
      "supabase link --project-ref",
      "supabase db push",
      "Vault secrets project_url,",
      "supabase secrets set",
      "supabase functions deploy",
    ]);
    assert.match(steps[2]!, /supabase db push --db-url \$SUPABASE_DB_URL --include-all --yes$/);
    assert.match(
      steps[3]!,
      /^would write: Vault secrets/,
      "Vault is written after the migrations, before the functions",
    );
    assert.match(steps[5]!, new RegExp(`supabase functions deploy --use-api --project-ref ${REF} --yes$`));
    assert.match(text, /would check: health round trip/);
    // A bad env file stops it before anything runs.
    await Deno.writeTextFile(envFile, "SUPABASE_SERVICE_ROLE_KEY=x\n");
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${ROOT}/cli/deploy.ts`, "--project-ref", REF, "--env-file", envFile, "--dry-run"],
    }).output();
    assert.equal(bad.code, 1);
    assert.match(new TextDecoder().decode(bad.stderr), /^deploy: error: SUPABASE_SERVICE_ROLE_KEY: set by Supabase/);
  } finally {
    await Deno.remove(envFile);
  }
});

Deno.test("deploy import resolution: every function has its own deno.json from the root imports; drift is found and fixed", async () => {
  assert.deepEqual(importMapDrift(), [], "the repository's per-function deno.json files are current");
  assert.deepEqual(configProblems(), [], "config.toml declares every function with verify_jwt");
  assert.ok(functionNames().includes("query") && functionNames().includes("selftest"));

  const tmp = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${tmp}/supabase/functions/a`, { recursive: true });
    await Deno.mkdir(`${tmp}/shared`, { recursive: true });
    await Deno.writeTextFile(`${tmp}/deno.json`, JSON.stringify({ imports: { zod: "npm:zod@4.6.7" }, tasks: {} }));
    await Deno.writeTextFile(`${tmp}/supabase/config.toml`, "[functions.a]\nverify_jwt = false\n[functions.gone]\n");
    // What the CLI's upload walk follows: static imports over several lines, re-exports, string
    // dynamic imports; not a computed one, and not bare (npm) names.
    await Deno.writeTextFile(
      `${tmp}/supabase/functions/a/index.ts`,
      'import {\n  x,\n  y,\n} from "../../../shared/x.ts";\nimport { z } from "zod";\nexport * from "./b.ts";\n' +
        'const c = await import("../../../shared/c.ts");\nconst n = "d";\nawait import(`../../../shared/${n}.ts`);\n',
    );
    await Deno.writeTextFile(`${tmp}/supabase/functions/a/b.ts`, 'import type { T } from "../../../shared/t.ts";\n');
    for (const f of ["x", "c", "t", "d"]) await Deno.writeTextFile(`${tmp}/shared/${f}.ts`, "export const v = 1;\n");
    const files = uploadedFiles("supabase/functions/a/index.ts", { zod: "npm:zod@4.6.7" }, tmp);
    assert.deepEqual([...files].sort(), [
      "shared/c.ts",
      "shared/t.ts",
      "shared/x.ts",
      "supabase/functions/a/b.ts",
      "supabase/functions/a/index.ts",
    ], "shared/d.ts (computed import) would not be uploaded");

    assert.deepEqual(importMapDrift(tmp), ["a"], "a function without deno.json drifts");
    assert.deepEqual(configProblems(tmp), ["[functions.gone]: no such function"]);
    assert.deepEqual(syncImportMaps(tmp), ["a"]);
    assert.deepEqual(importMapDrift(tmp), []);
    const written = JSON.parse(await Deno.readTextFile(`${tmp}/supabase/functions/a/deno.json`));
    assert.deepEqual(written.imports, { zod: "npm:zod@4.6.7" });
    await Deno.writeTextFile(`${tmp}/deno.json`, JSON.stringify({ imports: { zod: "npm:zod@4.6.8" } }));
    assert.deepEqual(importMapDrift(tmp), ["a"], "a changed root import is drift");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("deploy smoke check: Vault secrets written idempotently, health round trip and a selftest job complete", async () => {
  const sql = adminDb();
  try {
    const before = await sql`select name, decrypted_secret from vault.decrypted_secrets
                             where name in ('project_url', 'service_role_key') order by name`;
    const current = Object.fromEntries(before.map((r) => [r.name, r.decrypted_secret])) as {
      project_url: string;
      service_role_key: string;
    };
    await writeVaultSecrets(sql, current);
    const after = await sql`select name, count(*)::int as n from vault.secrets
                            where name in ('project_url', 'service_role_key') group by name order by name`;
    assert.deepEqual(after.map((r) => [r.name, r.n]), [["project_url", 1], ["service_role_key", 1]]);
  } finally {
    await sql.end();
  }
  const r = await smokeCheck(DB_URL, 60_000);
  assert.ok(r.healthMs > 0 && r.selftestMs > 0);
  console.log(`smoke check: health ${r.healthMs} ms, selftest ${r.selftestMs} ms`);
});
