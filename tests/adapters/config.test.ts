import assert from "node:assert/strict";
import {
  loadConfig,
  loadPlatformConfig,
  loadProviderConfig,
  loadUserAccessConfig,
} from "../../shared/adapters/config.ts";
import { errorResponse, requireServiceCaller } from "../../shared/adapters/http.ts";
import { normalizeError, PipelineError } from "../../shared/processors/errors.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

Deno.test("config: reads platform variables and names every problem at once", () => {
  const cfg = loadPlatformConfig(env({
    SUPABASE_URL: "http://127.0.0.1:54321/",
    SUPABASE_DB_URL: "postgresql://postgres@127.0.0.1:54322/postgres",
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_a" }),
    SUPABASE_SERVICE_ROLE_KEY: "legacy-jwt",
  }));
  assert.equal(cfg.supabaseUrl, "http://127.0.0.1:54321");
  assert.deepEqual([...cfg.serviceKeys], ["sb_secret_a", "legacy-jwt"]);
  assert.ok(Object.isFrozen(cfg));

  assert.throws(() => loadPlatformConfig(env({ SUPABASE_URL: "nope" })), (e: unknown) => {
    assert.ok(e instanceof PipelineError);
    assert.equal(e.code, "CONFIG_INVALID");
    assert.match(e.message, /SUPABASE_URL/);
    assert.match(e.message, /SUPABASE_DB_URL/);
    assert.match(e.message, /SUPABASE_SECRET_KEYS/);
    return true;
  });
});

/** The problems a CONFIG_INVALID error names, in order. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PipelineError);
    assert.equal(e.code, "CONFIG_INVALID");
    return e.message.replace(/^invalid configuration: /, "").split("; ");
  }
  assert.fail("expected CONFIG_INVALID");
}

Deno.test("config: every problem of every loader a function uses is named in one error, each once", () => {
  const problems = problemsOf(() =>
    loadConfig(
      { platform: loadPlatformConfig, providers: loadProviderConfig, access: loadUserAccessConfig },
      env({
        SUPABASE_DB_URL: "mysql://x",
        SUPABASE_SECRET_KEYS: "sb_secret_not_json",
        COMPLETION_WEBHOOK_SECRET: "plain",
        LLM_PROVIDER: "bedrock",
        EMBEDDING_DIMENSION: "zero",
        SUPABASE_JWKS: "{",
        USER_RATE_BURST: "-3",
      }),
    )
  );
  assert.deepEqual(problems.map((p) => p.split(" ")[0]), [
    "SUPABASE_URL",
    "SUPABASE_DB_URL",
    "SUPABASE_SECRET_KEYS",
    "COMPLETION_WEBHOOK_SECRET",
    "AWS_ACCESS_KEY_ID",
    "EMBEDDING_DIMENSION",
    "SUPABASE_JWKS",
    "USER_RATE_BURST",
  ], "platform, provider and access problems together; SUPABASE_URL (read by two loaders) named once");
  assert.match(problems[2]!, /not a JSON object of keys/, "a malformed key map is named, not silently ignored");

  const ok = loadConfig(
    { platform: loadPlatformConfig, providers: loadProviderConfig },
    env({
      SUPABASE_URL: "http://127.0.0.1:54321",
      SUPABASE_DB_URL: "postgresql://postgres@127.0.0.1:54322/postgres",
      SUPABASE_SERVICE_ROLE_KEY: "k",
    }),
  );
  assert.equal(ok.platform.serviceKeys[0], "k");
  assert.equal(ok.providers.llm, "offline");
});

Deno.test("http: service caller check and coded error responses", async () => {
  const req = (auth?: string) => new Request("http://x/", { headers: auth ? { authorization: auth } : {} });
  assert.doesNotThrow(() => requireServiceCaller(req("Bearer s3cret"), ["other", "s3cret"]));
  assert.throws(() => requireServiceCaller(req(), ["s3cret"]), { code: "AUTH_MISSING" });
  assert.throws(() => requireServiceCaller(req("Bearer s3cre"), ["s3cret"]), { code: "AUTH_INVALID" });

  const r = errorResponse(new PipelineError("NOT_FOUND", "no such job"));
  assert.equal(r.status, 404);
  assert.deepEqual(await r.json(), { code: "NOT_FOUND", message: "no such job", retriable: false });

  const unknown = normalizeError(new TypeError("boom"));
  assert.equal(unknown.code, "INTERNAL");
  assert.equal(unknown.retriable, true);
  assert.equal(normalizeError("text").message, "text");
});
