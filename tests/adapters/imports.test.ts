// The ingest write against the real database: rows go in by COPY, whose text format escapes
// differently from SQL and JSON, and a batch whose ids are already in the import falls back to
// the upsert inside the same transaction. Each scenario runs in a transaction that is rolled back.
import assert from "node:assert/strict";
import { createDb } from "../../shared/adapters/db.ts";
import { upsertConversations } from "../../shared/adapters/imports.ts";
import type { Tx } from "../../shared/adapters/tasks.ts";
import type { CanonicalConversation } from "../../shared/processors/ingest/types.ts";
import { DB_URL } from "../_support/platform.ts";

const ROLLBACK = new Error("rollback");

/** Runs `fn` with a user and a job of their own, in a transaction that is then rolled back. */
async function inJob(fn: (tx: Tx, job: { id: string; user_id: string }) => Promise<void>): Promise<void> {
  const db = createDb({ dbUrl: DB_URL }, 1); // the functions' client: COPY goes through its socket
  try {
    await db.begin(async (tx) => {
      const userId = crypto.randomUUID();
      await tx`insert into auth.users (id, email) values (${userId}, ${`imports-${userId.slice(0, 8)}@example.test`})`;
      await tx`set local session_replication_role = replica`; // the job's triggers are not under test
      const [job] = await tx`insert into public.processing_jobs (user_id, storage_path, status, pipeline_version)
                             values (${userId}, ${`imports/${userId}/export.json`}, 'ingest', 'v2') returning id`;
      await tx`set local session_replication_role = origin`;
      await fn(tx, { id: String(job!.id), user_id: userId });
      throw ROLLBACK;
    });
  } catch (e) {
    if (e !== ROLLBACK) throw e;
  } finally {
    await db.end();
  }
}

function conversation(id: string, ordinal: number, over: Partial<CanonicalConversation> = {}) {
  return {
    id,
    ordinal,
    source: "chatgpt",
    title: `conversation ${id}`,
    created_at: "2024-03-01T10:00:00.000Z",
    updated_at: "2024-03-01T11:00:00.000Z",
    model: "gpt-4o",
    messages: [
      { role: "user", content: `question ${id}`, created_at: "2024-03-01T10:00:00.000Z" },
      { role: "assistant", content: `answer ${id}`, created_at: null },
    ],
    ...over,
  } as CanonicalConversation & { ordinal: number };
}

async function stored(tx: Tx, jobId: string) {
  return await tx`select conversation_id, ordinal, source, title, model, messages,
                         to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
                         message_count, user_message_count, user_chars, total_chars
                    from public.raw_conversations where job_id = ${jobId} order by ordinal`;
}

Deno.test("ingest write: text that COPY escapes (tabs, newlines, backslashes, \\N, \\.) comes back as written", async () => {
  await inJob(async (tx, job) => {
    const tricky = [
      "tab\there, newline\nthere, return\r\nand a backslash \\ at the end \\",
      "\\N",
      "line\n\\.\nafter the end-of-data marker",
      'quotes "double" and \'single\', JSON-looking {"a": "\\u0041"}',
      "emoji 🧠, CJK 記憶, line separator \u2028 and paragraph \u2029",
      "",
    ];
    const convs = tricky.map((t, i) =>
      conversation(`c${i}`, i, {
        title: t,
        model: i % 2 ? null : t,
        messages: [
          { role: "user", content: t, created_at: null },
          { role: "assistant", content: `${t}\n${t}`, created_at: "2024-03-02T00:00:00.000Z" },
        ],
      })
    );
    assert.deepEqual(await upsertConversations(tx, job, convs), { copied: tricky.length, upserted: 0 });
    const rows = await stored(tx, job.id);
    assert.equal(rows.length, tricky.length);
    for (const [i, r] of rows.entries()) {
      assert.equal(r.conversation_id, `c${i}`);
      assert.equal(r.title, tricky[i]);
      assert.equal(r.model, i % 2 ? null : tricky[i]);
      assert.deepEqual(r.messages, convs[i]!.messages);
      assert.equal(r.created_at, "2024-03-01T10:00:00.000Z");
      assert.equal(r.message_count, 2);
      assert.equal(r.user_message_count, 1);
      assert.equal(Number(r.total_chars), tricky[i]!.length * 3 + 1);
    }
  });
});

Deno.test("ingest write: an id already in the import goes through the upsert, later occurrence wins, transaction intact", async () => {
  await inJob(async (tx, job) => {
    assert.deepEqual(await upsertConversations(tx, job, [conversation("a", 5), conversation("b", 6)]), {
      copied: 2,
      upserted: 0,
    });
    // "a" again from later in the export (replaces), "b" from earlier (kept), "c" new: the batch's
    // COPY fails on "a" and the whole batch is upserted instead.
    const again = await upsertConversations(tx, job, [
      conversation("a", 9, { title: "a, later" }),
      conversation("b", 1, { title: "b, earlier" }),
      conversation("c", 7),
    ]);
    assert.deepEqual(again, { copied: 0, upserted: 3 });
    const rows = await stored(tx, job.id);
    assert.deepEqual(rows.map((r) => [r.conversation_id, r.ordinal, r.title]), [
      ["b", 6, "conversation b"],
      ["c", 7, "conversation c"],
      ["a", 9, "a, later"],
    ]);
    // The failed COPY was rolled back to its savepoint: the transaction goes on, and a new batch
    // takes the COPY path again.
    assert.deepEqual(await upsertConversations(tx, job, [conversation("d", 10)]), { copied: 1, upserted: 0 });
    assert.equal((await stored(tx, job.id)).length, 4);
  });
});

Deno.test("ingest write: a failure that is not a duplicate is reported, not swallowed", async () => {
  await inJob(async (tx, job) => {
    // A conversation id over the column's 300 characters fails both the COPY and the upsert.
    await assert.rejects(
      () => upsertConversations(tx, job, [conversation("x".repeat(301), 1)]),
      (e: { code?: string }) => e.code === "23514" || e.code === "22001",
    );
  });
});
