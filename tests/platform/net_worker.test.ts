// The pg_net stand-in: requests leave only after commit, at most once, and are recorded like
// pg_net records them; the drop knob loses requests without a response row.
import assert from "node:assert/strict";
import { adminDb, first, waitFor } from "../_support/platform.ts";

async function withEchoServer(fn: (url: string, hits: unknown[]) => Promise<void>) {
  const hits: unknown[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    hits.push(await req.json());
    return Response.json({ echoed: true }, { status: 201 });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/echo`, hits);
  } finally {
    await server.shutdown();
  }
}

Deno.test("net.http_post is sent after commit, once, and its response recorded", async () => {
  const sql = adminDb();
  try {
    await withEchoServer(async (url, hits) => {
      const { id } = first(
        await sql`select net.http_post(${url}, '{"n": 1}'::jsonb, '{}'::jsonb,
                                   '{"Content-Type": "application/json"}'::jsonb, 2000) as id`,
      );
      const resp = await waitFor(async () => (await sql`select * from net._http_response where id = ${id}`)[0]);
      assert.equal(resp.status_code, 201);
      assert.deepEqual(JSON.parse(resp.content), { echoed: true });
      assert.deepEqual(hits, [{ n: 1 }]);
      const { n } = first(await sql`select count(*)::int as n from net.http_request_queue where id = ${id}`);
      assert.equal(n, 0, "dequeued before sending");

      // A rolled-back transaction sends nothing.
      await sql.begin(async (tx) => {
        await tx`select net.http_post(${url}, '{"n": 2}'::jsonb)`;
        await tx`select 1/0`;
      }).catch(() => {});
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(hits, [{ n: 1 }]);
    });
  } finally {
    await sql.end();
  }
});

Deno.test("net worker: timeouts and refused connections are recorded as errors", async () => {
  const sql = adminDb();
  try {
    const { id } = first(await sql`select net.http_post('http://127.0.0.1:9/refused', '{}'::jsonb) as id`);
    const resp = await waitFor(async () => (await sql`select * from net._http_response where id = ${id}`)[0]);
    assert.equal(resp.status_code, null);
    assert.ok(resp.error_msg);
  } finally {
    await sql.end();
  }
});

Deno.test("net worker drop knob: dropped requests leave no response row", async () => {
  const sql = adminDb();
  try {
    await withEchoServer(async (url, hits) => {
      await sql`update local_platform.settings set value = 1 where key = 'net_drop_rate'`;
      await new Promise((r) => setTimeout(r, 1200)); // the worker re-reads knobs every second
      const { id } = first(await sql`select net.http_post(${url}, '{"n": 3}'::jsonb) as id`);
      await new Promise((r) => setTimeout(r, 800));
      const { n } = first(await sql`select count(*)::int as n from net._http_response where id = ${id}`);
      assert.equal(n, 0);
      assert.equal(hits.length, 0);
    });
  } finally {
    await sql`update local_platform.settings set value = 0 where key = 'net_drop_rate'`;
    await new Promise((r) => setTimeout(r, 1200));
    await sql.end();
  }
});
