import assert from "node:assert/strict";
import { loadPlatformConfig } from "../../shared/adapters/config.ts";
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
