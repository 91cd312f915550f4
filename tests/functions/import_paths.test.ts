// The ingest function reads with the service key, so it checks a job's storage path again before
// any Storage call. Jobs are written here as the service (the insert policy bypassed, as a row
// slipped past it would be), each pointing by some trick at a victim's real upload: every one fails
// with EXPORT_PATH_INVALID at its first attempt and stores nothing of the victim's export.
import assert from "node:assert/strict";
import { importObject } from "../../shared/processors/import-path.ts";
import { adminDb, createUser, first, userClient, waitFor } from "../_support/platform.ts";

Deno.test("import paths: the ingest function refuses every path outside the owner's folder, reading nothing", async () => {
  const sql = adminDb();
  try {
    const victim = await createUser(sql, "victim");
    const file = `${Date.now()}-export.json`;
    const bytes = await Deno.readFile(new URL("../fixtures/exports/chatgpt-export.json", import.meta.url));
    const up = await userClient(victim.token).storage.from("imports").upload(`${victim.id}/${file}`, bytes, {
      contentType: "application/octet-stream",
    });
    assert.equal(up.error, null, up.error?.message);

    const tricks = (me: string) => [
      `imports/${me}/../${victim.id}/${file}`,
      `imports/${me}/%2e%2e/${victim.id}/${file}`,
      `imports/${me}/%2E%2E%2F${victim.id}%2F${file}`,
      `imports/${me}/..\\${victim.id}\\${file}`,
      `imports/${victim.id}/${file}`,
      `imports/${me}/./../../imports/${victim.id}/${file}`,
      `imports/${me}/x/../../${victim.id}/${file}`,
      `imports/${me}/${file}?download=../${victim.id}`,
    ];
    const attackers = await Promise.all(tricks("x").map(() => createUser(sql, "mallory")));
    const jobs = await Promise.all(attackers.map(async (a, i) => {
      const path = tricks(a.id)[i]!;
      const { id } = first(
        await sql`insert into public.processing_jobs (user_id, storage_path) values (${a.id}, ${path}) returning id`,
      );
      return { id: id as string, path, user: a.id };
    }));
    for (const j of jobs) {
      const done = await waitFor(
        async () => {
          const r = first(
            await sql`select status, error_code, error_message, conversation_count from public.processing_jobs
                     where id = ${j.id}`,
          );
          return r.status === "ingest" ? null : r;
        },
        30_000,
        50,
      );
      assert.equal(done.status, "failed", j.path);
      assert.equal(done.error_code, "EXPORT_PATH_INVALID", j.path);
      assert.match(done.error_message, /after 1 attempt:/, `${j.path}: not retried`);
      assert.equal(done.conversation_count, 0);
      const rows = first(await sql`select count(*)::int as n from public.raw_conversations where user_id = ${j.user}`);
      assert.equal(rows.n, 0, `${j.path}: nothing of the victim's export is stored`);
    }
  } finally {
    await sql.end();
  }
});

Deno.test("import paths: importObject accepts the owner's files and encodes each segment", () => {
  const me = "6f2a1400-81af-4859-92f2-54f93dd84d62";
  assert.deepEqual(importObject(`imports/${me}/My export (1).zip`, me), {
    bucket: "imports",
    key: `${me}/My export (1).zip`,
    encodedKey: `${me}/My%20export%20(1).zip`,
  });
  assert.equal(importObject(`imports/${me}/a.json`, me.toUpperCase()).key, `${me}/a.json`);
  for (const bad of ["", "imports", `imports/${me}`, `imports/${me}/`, `imports/${me}/.x`, `imports/${me}/a..b`]) {
    assert.throws(() => importObject(bad, me), /EXPORT_PATH_INVALID|not a file in your own upload folder/, bad);
  }
});
