// The completion webhook through the real platform: imports run to completion, finalize writes
// the outbox row, the notify function (kicked by the row's trigger, then by the webhook sweeper)
// signs and sends to a local receiver, which verifies every request with the standardwebhooks
// library and with an independent HMAC computation.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { Webhook } from "standardwebhooks";
import { loadPlatformConfig, webhookProblems } from "../../shared/adapters/config.ts";
import { adminDb, API_URL, createUser, first, keys, userClient, waitFor } from "../_support/platform.ts";

const FUNCTIONS_ENV = new URL("../../.platform/functions.env", import.meta.url);
const FIXTURE = new URL("../fixtures/exports/chatgpt-citations.json", import.meta.url);
const SECRET = "whsec_" + btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

interface Hit {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * A webhook receiver on a loopback port. Requests for a scripted user get that user's answers
 * in turn (then 200) and are kept; others (left over by earlier tests) get 200 and are dropped.
 * A 302 points at /elsewhere, which records any request that follows it.
 */
function startReceiver(port = 0) {
  const hits = new Map<string, Hit[]>();
  const script = new Map<string, number[]>();
  const strays: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.text();
    if (path !== "/hook") {
      strays.push(path);
      return new Response("not here", { status: 404 });
    }
    const userId = (JSON.parse(body) as { user_id: string }).user_id;
    const status = script.get(userId)?.shift() ?? 200;
    if (script.has(userId)) {
      hits.set(userId, [...hits.get(userId) ?? [], { path, headers: Object.fromEntries(req.headers), body }]);
    }
    return status === 302
      ? new Response(null, { status: 302, headers: { location: "/elsewhere" } })
      : new Response(status === 200 ? "ok" : "no", { status });
  });
  return { server, hits, script, strays, port: server.addr.port };
}

async function reloadFunctions() {
  await (await fetch(`${API_URL}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  await new Promise((r) => setTimeout(r, 3000)); // invocations still running finish on the old settings
}

/** A real import of a one-conversation export by `userId`, run until the job is complete. */
async function runImport(sql: postgres.Sql, user: { id: string; token: string }) {
  const key = `${user.id}/${Date.now()}-export.json`;
  const up = await userClient(user.token).storage.from("imports").upload(key, await Deno.readFile(FIXTURE), {
    contentType: "application/octet-stream",
  });
  assert.equal(up.error, null);
  const { id } = first(
    await sql`insert into public.processing_jobs (user_id, storage_path) values (${user.id}, ${"imports/" + key})
              returning id`,
  );
  const job = await waitFor(
    async () => {
      const j = first(
        await sql`select id, status, error_code, error_message from public.processing_jobs where id = ${id}`,
      );
      return ["complete", "failed", "cancelled"].includes(j.status) ? j : null;
    },
    180_000, // after the reload every function boots cold, behind earlier tests' jobs
    100,
  );
  assert.equal(job.status, "complete", `${job.error_code} ${job.error_message}`);
  return id as string;
}

/** Waits until the job's delivery has made `attempts` attempts and settled. */
function settled(sql: postgres.Sql, jobId: string, attempts: number, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const [d] = await sql`select * from private.webhook_deliveries where job_id = ${jobId}`;
      return d && d.attempts === attempts && d.state !== "sending" ? d : null;
    },
    timeoutMs,
    100,
  );
}

/** The signature computed independently of the library: base64 HMAC-SHA256 of "<id>.<ts>.<body>". */
async function independentSignature(secret: string, id: string, ts: string, body: string) {
  const raw = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${ts}.${body}`));
  return "v1," + btoa(String.fromCharCode(...new Uint8Array(mac)));
}

async function assertSigned(hit: Hit, jobId: string, userId: string) {
  assert.equal(hit.headers["webhook-id"], `msg_${jobId}`, "the id is derived from the job");
  assert.match(hit.headers["webhook-timestamp"]!, /^\d+$/);
  assert.ok(Math.abs(Number(hit.headers["webhook-timestamp"]) - Date.now() / 1000) < 120, "a current timestamp");
  const payload = new Webhook(SECRET).verify(hit.body, hit.headers) as Record<string, unknown>;
  assert.equal(payload.job_id, jobId);
  assert.equal(payload.user_id, userId);
  assert.equal(payload.type, "import.completed");
  assert.equal(payload.soulprint_ready, true);
  assert.equal(
    hit.headers["webhook-signature"],
    await independentSignature(SECRET, hit.headers["webhook-id"]!, hit.headers["webhook-timestamp"]!, hit.body),
  );
  assert.equal(hit.headers["authorization"], undefined, "no static bearer secret is sent");
  assert.throws(() => new Webhook("whsec_" + btoa("another secret of 24 bytes")).verify(hit.body, hit.headers));
}

Deno.test("notify: only the service secret may call it, and bad bodies are refused with a code", async () => {
  const call = (auth: string | null, body: string) =>
    fetch(`${API_URL}/functions/v1/notify`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body,
    });
  let res = await call(null, "{}");
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "AUTH_MISSING");
  res = await call(keys.anon_key, "{}");
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "AUTH_INVALID");
  res = await call(keys.service_role_key, '{"delivery_ids": ["x"]}');
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, "INPUT_INVALID");
});

Deno.test("notify: https only outside local, and a whsec_ secret with every URL", () => {
  const base = {
    SUPABASE_URL: "https://abc.supabase.co",
    SUPABASE_DB_URL: "postgresql://postgres@db:5432/postgres",
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_a" }),
  };
  const env = (vars: Record<string, string>) => ({
    get: (k: string) => ({ ...base, ...vars } as Record<string, string>)[k],
  });
  const cfg = loadPlatformConfig(
    env({ COMPLETION_WEBHOOK_URL: "https://hooks.example.com/x", COMPLETION_WEBHOOK_SECRET: SECRET }),
  );
  assert.equal(cfg.webhookUrl, "https://hooks.example.com/x");
  assert.equal(cfg.webhookSecret, SECRET);
  assert.equal(loadPlatformConfig(env({})).webhookUrl, null, "no webhook is fine");

  // Production (https project URL): plain http to a remote host is a startup error, named with
  // every other problem at once.
  assert.throws(
    () =>
      loadPlatformConfig(env({
        SUPABASE_DB_URL: "",
        COMPLETION_WEBHOOK_URL: "http://hooks.example.com/x",
        COMPLETION_WEBHOOK_SECRET: "plain-secret",
      })),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "CONFIG_INVALID");
      assert.match(e.message, /SUPABASE_DB_URL/);
      assert.match(e.message, /COMPLETION_WEBHOOK_URL \(must be https/);
      assert.match(e.message, /COMPLETION_WEBHOOK_SECRET \(expected whsec_/);
      return true;
    },
  );
  for (
    const url of ["http://127.0.0.1:9000/h", "http://localhost/h", "http://[::1]:8080/h", "http://api.localhost/h"]
  ) {
    assert.deepEqual(webhookProblems(url, SECRET, false), [], `${url} is loopback`);
  }
  assert.deepEqual(webhookProblems("http://host.docker.internal/h", SECRET, true), [], "a local stack may use http");
  assert.equal(webhookProblems("http://10.0.0.5/h", SECRET, false).length, 1);
  assert.equal(webhookProblems("ftp://hooks.example.com/h", SECRET, true).length, 1);
  assert.match(webhookProblems("https://hooks.example.com/h", null, false).join(), /SECRET \(missing/);
  assert.match(webhookProblems(null, "whsec_" + btoa("too short"), false).join(), /whsec_/, "keys of under 24 bytes");
  assert.match(webhookProblems(null, "whsec_not base64!", false).join(), /whsec_/);
});

Deno.test("notify: signed deliveries through the platform, retried with a stable id, never blocking the job", async (t) => {
  const sql = adminDb();
  let receiver = startReceiver();
  const port = receiver.port;
  const attemptLog = (jobId: string) =>
    sql`select attempts, status_code, outcome, error_code from private.notifications where job_id = ${jobId} order by id`;
  try {
    await Deno.writeTextFile(
      FUNCTIONS_ENV,
      `COMPLETION_WEBHOOK_URL=http://127.0.0.1:${port}/hook\nCOMPLETION_WEBHOOK_SECRET=${SECRET}\n`,
    );
    await reloadFunctions();

    await t.step("500, then given up, then an ops retry: one signed message, same id every time", async () => {
      const user = await createUser(sql, "notify");
      receiver.script.set(user.id, [500, 500, 200]);
      const jobId = await runImport(sql, user);
      // The job completed without waiting for the receiver; the first attempt follows the kick.
      let d = await settled(sql, jobId, 1);
      assert.equal(d.state, "pending");
      assert.equal(d.last_status, 500);
      assert.equal(d.last_error_code, "WEBHOOK_HTTP_STATUS");
      const wait = (new Date(d.next_attempt_at).getTime() - Date.now()) / 1000;
      assert.ok(wait > 15 && wait <= 38, `first retry in ~30 s with jitter (${wait} s)`);

      // The retry comes from the sweeper; the deadline has passed, so it is the last one.
      await sql`update private.webhook_deliveries set next_attempt_at = now(), give_up_after = now()
                 where job_id = ${jobId}`;
      assert.equal(first(await sql`select private.sweep_webhooks() as n`).n >= 1, true, "the sweeper kicks it");
      d = await settled(sql, jobId, 2);
      assert.equal(d.state, "given_up");
      assert.ok(d.given_up_at);
      const ops = first(
        await sql`select state, attempts, last_status from ops.undelivered_webhooks where job_id = ${jobId}`,
      );
      assert.deepEqual({ ...ops }, { state: "given_up", attempts: 2, last_status: 500 });

      // Ops restarts it once the receiver is fixed.
      assert.equal(first(await sql`select private.retry_webhook(${jobId}) as ok`).ok, true);
      d = await settled(sql, jobId, 1);
      assert.equal(d.state, "delivered");
      assert.ok(d.delivered_at);
      assert.equal((await sql`select from ops.undelivered_webhooks where job_id = ${jobId}`).length, 0);

      const hits = receiver.hits.get(user.id)!;
      assert.equal(hits.length, 3);
      for (const h of hits) await assertSigned(h, jobId, user.id);
      assert.equal(new Set(hits.map((h) => h.headers["webhook-id"])).size, 1, "the id is stable across retries");
      assert.equal(new Set(hits.map((h) => h.body)).size, 1, "the same payload every time");
      assert.deepEqual(
        (await attemptLog(jobId)).map((r) => [r.status_code, r.outcome, r.error_code]),
        [[500, "failed", "WEBHOOK_HTTP_STATUS"], [500, "failed", "WEBHOOK_HTTP_STATUS"], [200, "delivered", null]],
      );
    });

    await t.step("receiver down, then a 302 that is not followed, then delivered by the cron sweeper", async () => {
      await receiver.server.shutdown();
      const user = await createUser(sql, "notify-down");
      const jobId = await runImport(sql, user);
      let d = await settled(sql, jobId, 1);
      assert.equal(d.state, "pending");
      assert.equal(d.last_error_code, "WEBHOOK_NETWORK");
      assert.equal(d.last_status, null);
      assert.equal(first(await sql`select status from public.processing_jobs where id = ${jobId}`).status, "complete");

      receiver = startReceiver(port);
      receiver.script.set(user.id, [302, 200]);
      await sql`update private.webhook_deliveries set next_attempt_at = now() where job_id = ${jobId}`;
      d = await settled(sql, jobId, 2, 45_000); // the pg_cron job sweeps every 10 s
      assert.equal(d.state, "pending");
      assert.equal(d.last_status, 302);
      assert.equal(d.last_error_code, "WEBHOOK_REDIRECT");
      assert.match(d.last_error, /not followed/);
      assert.deepEqual(receiver.strays, [], "the redirect target was never called");

      await sql`update private.webhook_deliveries set next_attempt_at = now() where job_id = ${jobId}`;
      d = await settled(sql, jobId, 3, 45_000);
      assert.equal(d.state, "delivered");
      const hits = receiver.hits.get(user.id)!;
      assert.equal(hits.length, 2);
      for (const h of hits) await assertSigned(h, jobId, user.id);
      assert.deepEqual(
        (await attemptLog(jobId)).map((r) => [r.attempts, r.outcome, r.error_code]),
        [[1, "failed", "WEBHOOK_NETWORK"], [2, "failed", "WEBHOOK_REDIRECT"], [3, "delivered", null]],
      );
    });
  } finally {
    await Deno.remove(FUNCTIONS_ENV).catch(() => {});
    await (await fetch(`${API_URL}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
    await receiver.server.shutdown().catch(() => {});
    await sql.end();
  }
});
