// Ingest of exports larger than one slice, through the real platform: slices hand the next one
// off after their scan and run in parallel, yet the rows, their ordinals, the counters and the
// import-wide errors are those of reading the export front to back.
import assert from "node:assert/strict";
import type postgres from "postgres";
import { gzip } from "pako";
import { adminDb, createUser, first, startUserImport, waitFor } from "../_support/platform.ts";
import { generateExport } from "../../tools/export-generator.ts";
import { type IngestCursor, ingestSlice } from "../../shared/processors/ingest/slice.ts";
import { SLICE_BYTES, STORED_SLICE_BYTES } from "../../supabase/functions/ingest/handler.ts";

const enc = new TextEncoder();

async function ingested(sql: postgres.Sql, user: { id: string; token: string }, bytes: Uint8Array, name: string) {
  const id = await startUserImport(sql, user, bytes, name);
  return await waitFor(
    async () => {
      const j = first(
        await sql`select id, status, error_code, error_message, conversation_count, message_count, warning_count
                    from public.processing_jobs where id = ${id}`,
      );
      return j.status === "ingest" ? null : j;
    },
    120_000,
    100,
  );
}

/** What a sequential in-memory ingest of `data` yields: [id, ordinal, messages] per kept conversation. */
async function sequential(data: Uint8Array) {
  const read = (s: number, e: number) => Promise.resolve(data.slice(s, e));
  const out: { id: string; ordinal: number; messages: number }[] = [];
  let cursor: IngestCursor | null = null;
  do {
    const r = await ingestSlice(read, data.length, cursor, { fallbackTime: "2026-01-01T00:00:00Z" });
    for (const c of r.conversations) out.push({ id: c.id, ordinal: c.ordinal, messages: c.messages.length });
    cursor = r.next;
  } while (cursor);
  return out;
}

Deno.test("ingest in parallel slices: same rows and ordinals as a front-to-back read, slices overlapping", async () => {
  const sql = adminDb();
  try {
    const json = enc.encode([...generateExport({ seed: 11, targetBytes: SLICE_BYTES * 3.5 })].join(""));
    const data = gzip(json, { level: 1 });
    const want = await sequential(data);
    const user = await createUser(sql, "parallel");
    const job = await ingested(sql, user, data, "export.json.gz");
    assert.notEqual(job.status, "failed", `${job.error_code} ${job.error_message}`);
    assert.equal(job.conversation_count, want.length);
    assert.equal(job.message_count, want.reduce((a, c) => a + c.messages, 0));
    const rows = await sql`select conversation_id as id, ordinal, message_count as messages
                             from public.raw_conversations where job_id = ${job.id} order by ordinal`;
    assert.deepEqual(rows.map((r) => ({ ...r })), want, "every conversation once, at its position in the export");

    const slices = await sql`select task_key, result from private.job_tasks
                              where job_id = ${job.id} and stage = 'ingest' order by id`;
    assert.ok(slices.length >= 4, `${slices.length} slices`);
    const firsts = slices.map((s) => s.result.first_ordinal as number);
    assert.equal(firsts[0], 0);
    assert.ok(firsts.every((f, i) => i === 0 || f > firsts[i - 1]!), `slices cover the export in order: ${firsts}`);
    // Each slice hands the next one off before parsing, so some successor starts before its
    // predecessor is done (not necessarily every one: the machine may be busy).
    const overlaps = slices.slice(1).filter((s, i) => s.result.started_at < slices[i]!.result.ended_at).length;
    assert.ok(overlaps >= 1, "slices ran in parallel");
    assert.ok(slices.every((s) => s.result.ms && s.result.ms.scan >= 0), "phase timings recorded");
  } finally {
    await sql.end();
  }
});

/** A ChatGPT conversation with one user message; `pad` makes it large. */
const conversation = (id: string, title: string, pad = 0) => ({
  id,
  title,
  create_time: 1_700_000_000,
  current_node: "m",
  mapping: {
    m: {
      id: "m",
      parent: null,
      children: [],
      message: {
        author: { role: "user" },
        create_time: 1_700_000_000,
        content: { content_type: "text", parts: [`hello ${title} ${"x".repeat(pad)}`] },
      },
    },
  },
});

Deno.test("ingest in parallel slices: an id seen twice keeps its later occurrence, whatever order slices commit in", async () => {
  const sql = adminDb();
  try {
    const big = Array.from({ length: 12 }, (_, i) => conversation(`fill-${i}`, `fill ${i}`, 1024 * 1024));
    const list = [conversation("twice", "first"), ...big, conversation("twice", "second")];
    const user = await createUser(sql, "dup");
    const job = await ingested(sql, user, enc.encode(JSON.stringify(list)), "conversations.json");
    assert.notEqual(job.status, "failed", `${job.error_code} ${job.error_message}`);
    const row = first(
      await sql`select title, ordinal from public.raw_conversations
                                 where job_id = ${job.id} and conversation_id = 'twice'`,
    );
    assert.deepEqual({ ...row }, { title: "second", ordinal: 13 });
    const { n } = first(await sql`select count(*)::int as n from public.raw_conversations where job_id = ${job.id}`);
    assert.equal(n, 13);
  } finally {
    await sql.end();
  }
});

Deno.test("ingest in parallel slices: an export with no usable conversation in any slice fails as such", async () => {
  const sql = adminDb();
  try {
    // Conversation-shaped, but nothing visible in any of them: warnings, then EXPORT_NO_CONVERSATIONS.
    const empty = (i: number) => ({ id: `e-${i}`, title: "x".repeat(512 * 1024), mapping: {} });
    const user = await createUser(sql, "empty");
    const data = enc.encode(JSON.stringify(Array.from({ length: 80 }, (_, i) => empty(i))));
    assert.ok(data.length > 2 * STORED_SLICE_BYTES); // plain JSON: its slices are the larger ones
    const job = await ingested(sql, user, data, "conversations.json");
    assert.equal(job.status, "failed");
    assert.equal(job.error_code, "EXPORT_NO_CONVERSATIONS", job.error_message);
    const { n } = first(
      await sql`select count(*)::int as n from private.job_tasks
                                   where job_id = ${job.id} and stage = 'ingest'`,
    );
    assert.ok(n >= 3, `${n} slices`);
  } finally {
    await sql.end();
  }
});
