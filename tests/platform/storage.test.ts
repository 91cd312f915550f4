// The Storage stand-in through the real supabase-js client: uploads and reads are governed by
// the project's storage policies; downloads honour HTTP Range.
import assert from "node:assert/strict";
import { SupabaseObjectStore } from "../../shared/adapters/storage.ts";
import { importObject } from "../../shared/processors/import-path.ts";
import { adminDb, API_URL, createUser, keys, userClient } from "../_support/platform.ts";

Deno.test("storage: own-folder upload, RLS on other folders, Range download", async () => {
  const sql = adminDb();
  try {
    const alice = await createUser(sql, "alice");
    const bob = await createUser(sql, "bob");
    const bytes = new TextEncoder().encode(JSON.stringify([{ title: "hello", mapping: {} }]) + " ".repeat(1000));
    const path = `${alice.id}/${Date.now()}-export.json`;

    const up = await userClient(alice.token).storage.from("imports").upload(path, bytes, {
      contentType: "application/json",
    });
    assert.equal(up.error, null, String(up.error?.message));

    const intoBob = await userClient(alice.token).storage.from("imports").upload(`${bob.id}/x.json`, bytes, {
      contentType: "application/json",
    });
    assert.ok(intoBob.error, "writing into another user's folder is refused");

    const anon = await userClient().storage.from("imports").upload(`${alice.id}/anon.json`, bytes, {
      contentType: "application/json",
    });
    assert.ok(anon.error, "anon cannot upload");

    const own = await userClient(alice.token).storage.from("imports").download(path);
    assert.equal(own.error, null);
    assert.equal((await own.data!.arrayBuffer()).byteLength, bytes.byteLength);

    const other = await userClient(bob.token).storage.from("imports").download(path);
    assert.ok(other.error, "bob cannot read alice's export");

    const ranged = await fetch(`${API_URL}/storage/v1/object/imports/${path}`, {
      headers: { authorization: `Bearer ${keys.service_role_key}`, range: "bytes=2-9" },
    });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get("content-range"), `bytes 2-9/${bytes.byteLength}`);
    assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), bytes.slice(2, 10));

    const tail = await fetch(`${API_URL}/storage/v1/object/authenticated/imports/${path}`, {
      headers: { authorization: `Bearer ${keys.service_role_key}`, range: `bytes=${bytes.byteLength - 5}-` },
    });
    assert.equal(tail.status, 206);
    assert.deepEqual(new Uint8Array(await tail.arrayBuffer()), bytes.slice(-5));

    const beyond = await fetch(`${API_URL}/storage/v1/object/imports/${path}`, {
      headers: { authorization: `Bearer ${keys.service_role_key}`, range: `bytes=${bytes.byteLength}-` },
    });
    assert.equal(beyond.status, 416);
    await beyond.body?.cancel();

    const rm = await userClient(alice.token).storage.from("imports").remove([path]);
    assert.equal(rm.error, null);
    assert.equal(rm.data?.length, 1);
    const gone = await userClient(alice.token).storage.from("imports").download(path);
    assert.ok(gone.error);
  } finally {
    await sql.end();
  }
});

Deno.test("storage: the functions' object reader returns exact ranges of a multi-megabyte object", async () => {
  const sql = adminDb();
  try {
    const alice = await createUser(sql, "alice");
    // Bytes that differ at every offset, and a body that arrives in many chunks.
    const bytes = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31 + (i >> 11)) & 255);
    const path = `${alice.id}/${Date.now()}-export.json`;
    const up = await userClient(alice.token).storage.from("imports").upload(path, bytes, {
      contentType: "application/json",
    });
    assert.equal(up.error, null, String(up.error?.message));
    const reader = await new SupabaseObjectStore(API_URL, keys.service_role_key).open(
      importObject(`imports/${path}`, alice.id),
    );
    assert.equal(reader.size, bytes.length);
    for (const [s, e] of [[0, bytes.length], [1, 2], [65_535, 2_100_003], [bytes.length - 9, bytes.length]]) {
      assert.deepEqual(await reader.read(s!, e!), bytes.subarray(s, e), `bytes ${s}-${e}`);
    }
    assert.equal((await reader.read(bytes.length, bytes.length + 10)).length, 0);
  } finally {
    await sql.end();
  }
});
