// The ingest stage through the real platform: Storage upload as the user, a job row inserted
// under RLS semantics, triggers, pg_net, the gateway and the ingest function.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { adminDb, createUser, first, startUserImport, waitFor } from "../_support/platform.ts";

const FIXTURES = new URL("../fixtures/exports/", import.meta.url);

async function importFile(
  sql: postgres.Sql,
  user: { id: string; token: string },
  bytes: Uint8Array | null,
  name = "export.json",
) {
  const job = await startUserImport(sql, user, bytes, name);
  return await waitFor(
    async () => {
      const j = first(
        await sql`select id, status, failed_stage, error_code, error_message, conversation_count, message_count,
                                     warning_count, progress_percent from public.processing_jobs where id = ${job}`,
      );
      return j.status === "ingest" ? null : j;
    },
    30_000,
    50,
  );
}

/** Job statuses after a successful ingest: the stages that follow it. */
const PAST_INGEST = [
  "quick_pass",
  "chunk",
  "embed",
  "vector_index",
  "extract",
  "consolidate",
  "memory",
  "regenerate",
  "finalize",
  "complete",
];

const EXPECTED: Record<string, number[]> = {
  "chatgpt-export.json": [6, 4],
  "chatgpt-tree.json": [6],
  "chatgpt-citations.json": [1],
  "chatgpt-modern-export.json": [4, 2],
};

Deno.test("ingest through the platform: every fixture yields the conversations and messages it should", async () => {
  const sql = adminDb();
  try {
    for (const [file, counts] of Object.entries(EXPECTED)) {
      const user = await createUser(sql, "ingest");
      const job = await importFile(sql, user, await Deno.readFile(new URL(file, FIXTURES)), file);
      // Past ingest (a warm quick-pass worker can finish its stage before the next poll).
      assert.ok(PAST_INGEST.includes(job.status), `${file}: ${job.status} ${job.error_code} ${job.error_message}`);
      assert.equal(job.conversation_count, counts.length);
      assert.equal(job.message_count, counts.reduce((a, b) => a + b, 0));
      assert.ok(job.progress_percent >= 20, "progress moved on with the stage");
      const rows = await sql`select message_count, json_array_length(messages)::int as n from public.raw_conversations
                              where user_id = ${user.id} order by created_at desc`;
      assert.deepEqual(rows.map((r) => r.n).sort(), [...counts].sort(), file);
      assert.ok(rows.every((r) => r.n === r.message_count));
    }
  } finally {
    await sql.end();
  }
});

Deno.test("ingest: a re-run replaces a user's conversations, never duplicates them", async () => {
  const sql = adminDb();
  try {
    const user = await createUser(sql, "rerun");
    const bytes = await Deno.readFile(new URL("chatgpt-export.json", FIXTURES));
    const a = await importFile(sql, user, bytes);
    await sql`select public.cancel_job(${a.id})`;
    const b = await importFile(sql, user, bytes);
    assert.ok(PAST_INGEST.includes(b.status), b.status);
    const { n, jobs } = first(
      await sql`select count(*)::int as n, count(distinct job_id)::int as jobs
                                        from public.raw_conversations where user_id = ${user.id}`,
    );
    assert.equal(n, 2);
    assert.equal(jobs, 1, "rows now belong to the second import");
  } finally {
    await sql.end();
  }
});

Deno.test("ingest: bad uploads fail their job with a coded, readable error and touch nothing else", async () => {
  const sql = adminDb();
  try {
    const bystander = await createUser(sql, "bystander");
    const ok = await importFile(sql, bystander, await Deno.readFile(new URL("chatgpt-tree.json", FIXTURES)));
    assert.ok(PAST_INGEST.includes(ok.status), ok.status);
    const before =
      first(await sql`select count(*)::int as n from public.raw_conversations where user_id = ${bystander.id}`).n;

    const cases: [string, Uint8Array | null, string][] = [
      ["missing object", null, "EXPORT_NOT_FOUND"],
      ["0-byte file", new Uint8Array(0), "EXPORT_EMPTY"],
      ["not an export", new TextEncoder().encode("just some text"), "EXPORT_UNSUPPORTED_FORMAT"],
      ["truncated JSON", new TextEncoder().encode('[{"id":"a","mapping":{"r":{'), "EXPORT_TRUNCATED"],
    ];
    for (const [name, bytes, code] of cases) {
      const user = await createUser(sql, "bad");
      const job = await importFile(sql, user, bytes);
      assert.equal(job.status, "failed", name);
      assert.equal(job.error_code, code, name);
      assert.equal(job.failed_stage, "ingest");
      assert.match(job.error_message, /^Parsing conversations failed after 1 attempt: .{10,}/, name);
      const { n } = first(
        await sql`select count(*)::int as n from public.raw_conversations where user_id = ${user.id}`,
      );
      assert.equal(n, 0);
    }
    const after =
      first(await sql`select count(*)::int as n from public.raw_conversations where user_id = ${bystander.id}`).n;
    assert.equal(after, before, "other users' data untouched");
  } finally {
    await sql.end();
  }
});
