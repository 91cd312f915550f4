// Resumable (TUS) uploads through the platform's Storage over HTTP: an upload cut part-way resumes
// from the server's offset and the stored object is byte-identical; offsets, policies and auth are
// enforced on every request.
import assert from "node:assert/strict";
import { adminDb, API_URL, createUser, keys } from "../_support/platform.ts";
import { CHUNK_SIZE, uploadFile } from "../../cli/upload.ts";

const TUS = `${API_URL}/storage/v1/upload/resumable`;
const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

async function sha256(data: Uint8Array<ArrayBuffer> | ArrayBuffer): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", data)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A file of `size` pseudo-random bytes (incompressible, so nothing is accidentally equal). */
async function randomFile(size: number): Promise<{ path: string; hash: string }> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  const path = await Deno.makeTempFile({ suffix: ".zip" });
  await Deno.writeFile(path, bytes);
  return { path, hash: await sha256(bytes) };
}

function create(token: string, bucket: string, name: string, size: number, extra: HeadersInit = {}) {
  return fetch(TUS, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      apikey: keys.anon_key,
      "tus-resumable": "1.0.0",
      "upload-length": String(size),
      "upload-metadata": `bucketName ${b64(bucket)},objectName ${b64(name)},contentType ${b64("application/zip")}`,
      ...extra,
    },
  });
}

const head = (url: string, token: string) =>
  fetch(url, { method: "HEAD", headers: { authorization: `Bearer ${token}`, "tus-resumable": "1.0.0" } });

function patch(url: string, token: string, offset: number, body: BodyInit) {
  return fetch(url, {
    method: "PATCH",
    headers: {
      authorization: `Bearer ${token}`,
      "tus-resumable": "1.0.0",
      "upload-offset": String(offset),
      "content-type": "application/offset+octet-stream",
    },
    body,
  });
}

async function download(token: string, bucket: string, name: string): Promise<Response> {
  return await fetch(`${API_URL}/storage/v1/object/authenticated/${bucket}/${name}`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

Deno.test("tus: the CLI's upload cut at 40 % resumes from the server's offset and stores identical bytes", async () => {
  const sql = adminDb();
  const { path, hash } = await randomFile(5 * CHUNK_SIZE + 123_457); // ~31 MB, last chunk partial
  const urlStore = `${await Deno.makeTempDir()}/urls.json`;
  try {
    const alice = await createUser(sql, "alice");
    const size = (await Deno.stat(path)).size;
    const target = {
      apiUrl: API_URL,
      token: alice.token,
      apikey: keys.anon_key,
      bucket: "imports",
      key: `${alice.id}/first-export.zip`,
    };

    const stop = new AbortController();
    await assert.rejects(
      uploadFile(target, path, {
        urlStore,
        signal: stop.signal,
        onProgress: (sent) => sent >= 0.4 * size && stop.abort(),
      }),
      /aborted/,
    );
    const stored = JSON.parse(await Deno.readTextFile(urlStore));
    const url = (Object.values(stored)[0] as { uploadUrl: string }).uploadUrl;
    const cut = Number((await head(url, alice.token)).headers.get("upload-offset"));
    assert.ok(cut >= 0.3 * size && cut < size, `the server kept the bytes before the cut (${cut} of ${size})`);
    assert.equal((await download(alice.token, "imports", target.key)).status, 404, "no object before the end");

    // A re-run (new key, as the CLI makes one per run) continues the first upload, under its key.
    let firstReport = -1;
    const key = await uploadFile({ ...target, key: `${alice.id}/second-run.zip` }, path, {
      urlStore,
      onProgress: (sent) => firstReport < 0 && (firstReport = sent),
    });
    assert.equal(key, target.key, "the resumed upload keeps its original key");
    assert.ok(firstReport >= cut, `resumed at the server's offset ${cut}, not from 0 (first report ${firstReport})`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(urlStore)), {}, "a finished upload is forgotten");

    const res = await download(alice.token, "imports", key);
    assert.equal(res.status, 200);
    assert.equal(await sha256(await res.arrayBuffer()), hash, "stored bytes are identical");
    const [row] = await sql`select owner_id, (metadata->>'size')::bigint as size from storage.objects
                              where bucket_id = 'imports' and name = ${key}`;
    assert.equal(row?.owner_id, alice.id);
    assert.equal(Number(row?.size), size);
  } finally {
    await Deno.remove(path);
    await Deno.remove(urlStore.slice(0, urlStore.lastIndexOf("/")), { recursive: true });
    await sql.end();
  }
});

Deno.test("tus: a PATCH whose connection drops keeps what arrived; the rest is sent from HEAD's offset", async () => {
  const sql = adminDb();
  try {
    const alice = await createUser(sql, "alice");
    const bytes = new Uint8Array(3 * 1024 * 1024);
    crypto.getRandomValues(bytes.subarray(0, 65536));
    for (let i = 65536; i < bytes.length; i += 65536) bytes.set(bytes.subarray(0, 65536), i);
    bytes[bytes.length - 1] = 7;
    const name = `${alice.id}/raw.zip`;
    const created = await create(alice.token, "imports", name, bytes.length);
    assert.equal(created.status, 201, await created.text());
    assert.equal(created.headers.get("tus-resumable"), "1.0.0");
    const url = created.headers.get("location")!;
    assert.match(url, /\/storage\/v1\/upload\/resumable\/[A-Za-z0-9_-]+$/);

    // The body stream fails after 40 % of the bytes: the client's request is torn down mid-body.
    const cutAt = Math.floor(bytes.length * 0.4);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= cutAt) return c.error(new Error("connection cut"));
        const part = bytes.subarray(sent, Math.min(cutAt, sent + 65536));
        sent += part.byteLength;
        c.enqueue(part);
      },
    });
    await assert.rejects(patch(url, alice.token, 0, body));

    // The server notices the drop asynchronously; its offset settles at what it stored.
    let offset = -1;
    for (let i = 0; i < 100; i++) {
      const h = await head(url, alice.token);
      assert.equal(h.status, 200);
      assert.equal(h.headers.get("upload-length"), String(bytes.length));
      const o = Number(h.headers.get("upload-offset"));
      if (o === offset) break;
      offset = o;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(offset > 0 && offset <= cutAt, `kept ${offset} of the ${cutAt} bytes sent`);

    const wrong = await patch(url, alice.token, offset + 1, bytes.slice(offset + 1));
    assert.equal(wrong.status, 409, "a PATCH at the wrong offset is refused");
    assert.equal(wrong.headers.get("upload-offset"), String(offset));
    await wrong.body?.cancel();

    const rest = await patch(url, alice.token, offset, bytes.slice(offset));
    assert.equal(rest.status, 204, await rest.text());
    assert.equal(rest.headers.get("upload-offset"), String(bytes.length));

    const res = await download(alice.token, "imports", name);
    assert.equal(await sha256(await res.arrayBuffer()), await sha256(bytes));
    assert.equal((await head(url, alice.token)).status, 404, "a finished upload is gone");
  } finally {
    await sql.end();
  }
});

Deno.test("tus: other users' folders, missing auth, bad headers and existing objects are refused", async () => {
  const sql = adminDb();
  try {
    const alice = await createUser(sql, "alice");
    const bob = await createUser(sql, "bob");
    const name = `${alice.id}/guarded.zip`;

    const intoAlice = await create(bob.token, "imports", name, 10);
    assert.equal(intoAlice.status, 403, "bob cannot start an upload in alice's folder");
    await intoAlice.body?.cancel();

    const anon = await create(keys.anon_key, "imports", name, 10);
    assert.equal(anon.status, 403, "anon is refused by the policies");
    await anon.body?.cancel();

    const noAuth = await fetch(TUS, {
      method: "POST",
      headers: { "tus-resumable": "1.0.0", "upload-length": "10", "upload-metadata": `bucketName ${b64("imports")}` },
    });
    assert.equal(noAuth.status, 400);
    assert.match((await noAuth.json()).message, /JWT/);

    const noVersion = await create(alice.token, "imports", name, 10, { "tus-resumable": "0.2.2" });
    assert.equal(noVersion.status, 412);
    assert.equal(noVersion.headers.get("tus-version"), "1.0.0");
    await noVersion.body?.cancel();

    const noName = await fetch(TUS, {
      method: "POST",
      headers: {
        authorization: `Bearer ${alice.token}`,
        "tus-resumable": "1.0.0",
        "upload-length": "10",
        "upload-metadata": `bucketName ${b64("imports")}`,
      },
    });
    assert.equal(noName.status, 400);
    assert.equal((await noName.json()).error, "MetadataRequired");

    const options = await fetch(TUS, { method: "OPTIONS" });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get("tus-version"), "1.0.0");
    assert.match(options.headers.get("tus-extension") ?? "", /creation/);

    const created = await create(alice.token, "imports", name, 10);
    assert.equal(created.status, 201);
    const url = created.headers.get("location")!;

    const bobPatch = await patch(url, bob.token, 0, new Uint8Array(10));
    assert.equal(bobPatch.status, 403, "bob cannot write into alice's upload");
    await bobPatch.body?.cancel();
    const unauth = await fetch(url, {
      method: "PATCH",
      headers: { "tus-resumable": "1.0.0", "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      body: new Uint8Array(10),
    });
    assert.equal(unauth.status, 400, "a PATCH without a token is refused");
    await unauth.body?.cancel();
    const unauthHead = await fetch(url, { method: "HEAD", headers: { "tus-resumable": "1.0.0" } });
    assert.equal(unauthHead.status, 400, "HEAD needs a token too");
    const wrongType = await fetch(url, {
      method: "PATCH",
      headers: {
        authorization: `Bearer ${alice.token}`,
        "tus-resumable": "1.0.0",
        "upload-offset": "0",
        "content-type": "application/octet-stream",
      },
      body: new Uint8Array(10),
    });
    assert.equal(wrongType.status, 415);
    await wrongType.body?.cancel();
    assert.equal((await head(url, alice.token)).headers.get("upload-offset"), "0", "refused PATCHes stored nothing");

    const first = await patch(url, alice.token, 0, new Uint8Array(4));
    assert.equal(first.status, 204);
    const stale = await patch(url, alice.token, 0, new Uint8Array(6));
    assert.equal(stale.status, 409, "replaying an old offset conflicts");
    assert.equal(stale.headers.get("upload-offset"), "4");
    await stale.body?.cancel();
    const last = await patch(url, alice.token, 4, new Uint8Array(6));
    assert.equal(last.status, 204);

    const again = await create(alice.token, "imports", name, 10);
    assert.equal(again.status, 409, "an existing object is not replaced without x-upsert");
    await again.body?.cancel();
    const upsert = await create(alice.token, "imports", name, 10, { "x-upsert": "true" });
    assert.equal(upsert.status, 201, "x-upsert allows replacing it");
    const abandoned = upsert.headers.get("location")!;
    const bobDelete = await fetch(abandoned, {
      method: "DELETE",
      headers: { authorization: `Bearer ${bob.token}`, "tus-resumable": "1.0.0" },
    });
    assert.equal(bobDelete.status, 403, "bob cannot abandon alice's upload");
    await bobDelete.body?.cancel();
    const terminated = await fetch(abandoned, {
      method: "DELETE",
      headers: { authorization: `Bearer ${alice.token}`, "tus-resumable": "1.0.0" },
    });
    assert.equal(terminated.status, 204, "the owner can abandon it");
    assert.equal((await head(abandoned, alice.token)).status, 404);

    const missing = await head(`${TUS}/${btoa("imports/nothing/here").replaceAll("=", "")}`, alice.token);
    assert.equal(missing.status, 404);
  } finally {
    await sql.end();
  }
});
