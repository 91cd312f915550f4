/**
 * Local platform (never deployed): the Storage REST endpoints the product uses, on a local
 * folder. Object rows are written to `storage.objects` under the caller's role and JWT claims,
 * so the project's storage policies (RLS) decide access exactly as on Supabase.
 *   POST|PUT /storage/v1/object/<bucket>/<path>            upload (raw body or multipart form)
 *   GET|HEAD /storage/v1/object[/authenticated]/<bucket>/<path>   download, with HTTP Range
 *   DELETE   /storage/v1/object/<bucket>  {"prefixes": [...]} remove objects
 *   /storage/v1/upload/resumable[/<id>]                    resumable (TUS) uploads, see tus.ts
 */
import type { Sql } from "postgres";
import type { ProjectKeys } from "./gateway/mod.ts";
import { verifyAccessToken } from "./jwt.ts";
import { TusUploads } from "./tus.ts";

export type Claims = Record<string, unknown>;
export interface BucketInfo {
  id: string;
  file_size_limit: number | string | null;
  allowed_mime_types: string[] | null;
}

export const err = (status: number, error: string, message: string, headers?: HeadersInit) =>
  Response.json({ statusCode: String(status), error, message }, { status, headers });

/** Thrown inside a transaction to roll back a permission probe (see canInsert). */
const PROBE = Symbol("probe");

export class StorageApi {
  private tus: TusUploads;

  constructor(private sql: Sql, private dir: string, private keys: ProjectKeys) {
    // In-progress resumable uploads live beside the buckets; they become objects only when complete.
    this.tus = new TusUploads(this, `${dir}/.resumable`);
  }

  /**
   * The caller's claims. As behind the hosted API gateway, an opaque project key (bearer or
   * apikey) stands for its role: the secret key for service_role, the publishable key for anon.
   */
  async claims(req: Request): Promise<Claims | null> {
    const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1] ?? req.headers.get("apikey");
    if (!token) return null;
    if (this.keys.mode === "new" && this.keys.secret.includes(token)) return { role: "service_role" };
    if (this.keys.mode === "new" && this.keys.publishable.includes(token)) return { role: "anon" };
    const c = await verifyAccessToken(token, this.keys.mode);
    if (!c || !["anon", "authenticated", "service_role"].includes(String(c.role))) return null;
    return c;
  }

  /** Runs `fn` in a transaction as the caller: `set local role` plus `request.jwt.claims`. */
  asCaller<T>(claims: Claims, fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.sql.begin(async (tx) => {
      await tx.unsafe(`set local role ${claims.role}`); // role validated in claims()
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      return await fn(tx as unknown as Sql);
    }) as Promise<T>;
  }

  private file(bucket: string, name: string): string {
    return `${this.dir}/${bucket}/${name}`;
  }

  /** The bucket's limits, read as the service role (as Storage does), or null when it does not exist. */
  async bucket(id: string): Promise<BucketInfo | null> {
    const rows = await this.asCaller(
      { role: "service_role" },
      (tx) => tx`select id, file_size_limit, allowed_mime_types from storage.buckets where id = ${id}`,
    );
    return (rows[0] as BucketInfo | undefined) ?? null;
  }

  /** A 415 response when the bucket restricts mime types and `mime` is not among them. */
  mimeRefusal(info: BucketInfo, mime: string): Response | null {
    return info.allowed_mime_types && !info.allowed_mime_types.includes(mime)
      ? err(415, "invalid_mime_type", `mime type ${mime} is not supported`)
      : null;
  }

  /** Object keys are relative paths without empty, "." or ".." segments. */
  validKey(name: string): boolean {
    return !name.split("/").some((p) => p === ".." || p === "" || p === ".");
  }

  private insertObject(tx: Sql, claims: Claims, bucket: string, name: string, metadata: object, upsert: boolean) {
    const owner = claims.role === "authenticated" ? String(claims.sub) : null;
    return upsert
      ? tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata)
             values (${bucket}, ${name}, ${owner}, ${owner}, ${tx.json(metadata as never)})
             on conflict (bucket_id, name) do update set metadata = excluded.metadata, updated_at = now()
             returning id`
      : tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata)
             values (${bucket}, ${name}, ${owner}, ${owner}, ${tx.json(metadata as never)}) returning id`;
  }

  /**
   * Whether the caller may create (or with `upsert`, replace) the object: the very insert the upload
   * will run, checked by the storage policies and rolled back. Resumable uploads ask this before
   * accepting bytes, as Supabase Storage does. Returns null when allowed, else the refusal.
   */
  async canInsert(claims: Claims, bucket: string, name: string, upsert: boolean): Promise<Response | null> {
    try {
      await this.asCaller(claims, async (tx) => {
        await this.insertObject(tx, claims, bucket, name, {}, upsert);
        throw PROBE;
      });
    } catch (e) {
      if (e === PROBE) return null;
      return this.refusal(e);
    }
    return null;
  }

  /** Maps a policy or uniqueness failure to Storage's response; rethrows anything else. */
  private refusal(e: unknown): Response {
    const code = (e as { code?: string }).code;
    if (code === "42501") return err(403, "Unauthorized", "new row violates row-level security policy");
    if (code === "23505") return err(409, "Duplicate", "The resource already exists");
    throw e;
  }

  /**
   * Makes the finished file `tmp` the object `bucket/name`: the row is inserted as the caller (the
   * policies decide) and the file renamed into place inside the same transaction, so a refused or
   * failed upload leaves neither. `tmp` is removed when refused.
   */
  async commit(
    claims: Claims,
    bucket: string,
    name: string,
    tmp: string,
    mime: string,
    upsert: boolean,
  ): Promise<Response> {
    const size = (await Deno.stat(tmp)).size;
    const metadata = { size, mimetype: mime, contentLength: size, eTag: `"${crypto.randomUUID()}"` };
    const final = this.file(bucket, name);
    await Deno.mkdir(final.slice(0, final.lastIndexOf("/")), { recursive: true });
    try {
      const rows = await this.asCaller(claims, async (tx) => {
        const r = await this.insertObject(tx, claims, bucket, name, metadata, upsert);
        await Deno.rename(tmp, final); // inside the transaction: a failed rename rolls the row back
        return r;
      });
      return Response.json({ Key: `${bucket}/${name}`, Id: rows[0]!.id });
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      return this.refusal(e);
    }
  }

  async handle(req: Request, path: string): Promise<Response> {
    if (path === "/upload/resumable" || path.startsWith("/upload/resumable/")) {
      return await this.tus.handle(req, path.slice("/upload/resumable".length));
    }
    const claims = await this.claims(req);
    if (!claims) return err(400, "Unauthorized", "Invalid JWT");
    const m = path.match(/^\/object\/(?:(authenticated|public)\/)?([^/]+)(?:\/(.+))?$/);
    if (!m) return err(404, "not_found", "Route not found");
    const bucket = decodeURIComponent(m[2]!);
    const name = m[3] ? m[3].split("/").map(decodeURIComponent).join("/") : undefined;
    if (name !== undefined && !this.validKey(name)) {
      return err(400, "InvalidKey", "Invalid key");
    }
    try {
      if ((req.method === "POST" || req.method === "PUT") && name) return await this.upload(req, claims, bucket, name);
      if ((req.method === "GET" || req.method === "HEAD") && name) {
        return await this.download(req, claims, bucket, name);
      }
      if (req.method === "DELETE" && !name) return await this.remove(req, claims, bucket);
      return err(405, "method_not_allowed", `${req.method} is not supported here`);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "42501") return err(403, "Unauthorized", "new row violates row-level security policy");
      return err(500, "internal", String(e));
    }
  }

  private async upload(req: Request, claims: Claims, bucket: string, name: string): Promise<Response> {
    const info = await this.bucket(bucket);
    if (!info) return err(404, "Bucket not found", "Bucket not found");
    const upsert = req.headers.get("x-upsert") === "true";
    let body: ReadableStream<Uint8Array> | null = req.body;
    let contentType = req.headers.get("content-type") ?? "application/octet-stream";
    if (contentType.startsWith("multipart/form-data")) {
      const form = await req.formData();
      const file = [...form.values()].find((v): v is File => typeof v !== "string");
      if (!file) return err(400, "InvalidRequest", "No file in form data");
      contentType = file.type || "application/octet-stream";
      body = file.stream();
    }
    const mime = contentType.split(";")[0]!.trim();
    const refused = this.mimeRefusal(info, mime);
    if (refused) return refused;
    const final = this.file(bucket, name);
    await Deno.mkdir(final.slice(0, final.lastIndexOf("/")), { recursive: true });
    const tmp = `${final}.upload-${crypto.randomUUID()}`;
    let size = 0;
    const limit = info.file_size_limit === null ? Infinity : Number(info.file_size_limit);
    const out = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      for await (const chunk of body ?? new ReadableStream()) {
        size += chunk.byteLength;
        if (size > limit) throw Object.assign(new Error("too large"), { tooLarge: true });
        await out.write(chunk);
      }
    } catch (e) {
      out.close();
      await Deno.remove(tmp).catch(() => {});
      if ((e as { tooLarge?: boolean }).tooLarge) {
        return err(413, "Payload too large", "The object exceeded the maximum allowed size");
      }
      throw e;
    }
    out.close();
    return await this.commit(claims, bucket, name, tmp, mime, upsert);
  }

  private async download(req: Request, claims: Claims, bucket: string, name: string): Promise<Response> {
    const rows = await this.asCaller(
      claims,
      (tx) => tx`select metadata from storage.objects where bucket_id = ${bucket} and name = ${name}`,
    );
    if (!rows[0]) return err(404, "not_found", "Object not found");
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(this.file(bucket, name));
    } catch {
      return err(404, "not_found", "Object not found");
    }
    const size = stat.size;
    const mime = (rows[0].metadata as { mimetype?: string } | null)?.mimetype ?? "application/octet-stream";
    const headers = new Headers({
      "content-type": mime,
      "accept-ranges": "bytes",
      "last-modified": stat.mtime?.toUTCString() ?? "",
    });
    let start = 0, end = size - 1, status = 200;
    const range = req.headers.get("range");
    if (range) {
      const r = range.match(/^bytes=(\d*)-(\d*)$/);
      if (!r || (r[1] === "" && r[2] === "")) {
        return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
      }
      if (r[1] === "") {
        start = Math.max(0, size - Number(r[2]));
      } else {
        start = Number(r[1]);
        end = r[2] === "" ? size - 1 : Math.min(Number(r[2]), size - 1);
      }
      if (start >= size || start > end) {
        return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
      }
      status = 206;
      headers.set("content-range", `bytes ${start}-${end}/${size}`);
    }
    headers.set("content-length", String(Math.max(0, end - start + 1)));
    if (req.method === "HEAD" || size === 0) return new Response(null, { status, headers });
    const f = await Deno.open(this.file(bucket, name));
    await f.seek(start, Deno.SeekMode.Start);
    let left = end - start + 1;
    const stream = new ReadableStream<Uint8Array>({
      async pull(c) {
        const buf = new Uint8Array(Math.min(1 << 20, left));
        const n = await f.read(buf);
        if (n === null || n === 0) {
          f.close();
          return c.close();
        }
        left -= n;
        c.enqueue(buf.subarray(0, n));
        if (left <= 0) {
          f.close();
          c.close();
        }
      },
      cancel() {
        f.close();
      },
    });
    return new Response(stream, { status, headers });
  }

  private async remove(req: Request, claims: Claims, bucket: string): Promise<Response> {
    const { prefixes } = await req.json().catch(() => ({})) as { prefixes?: unknown };
    if (!Array.isArray(prefixes) || !prefixes.every((p) => typeof p === "string")) {
      return err(400, "InvalidRequest", 'body must be {"prefixes": string[]}');
    }
    const removed = await this.asCaller(claims, async (tx) => {
      const rows =
        await tx`delete from storage.objects where bucket_id = ${bucket} and name = any(${prefixes as string[]})
                            returning name, bucket_id, id`;
      for (const r of rows) await Deno.remove(this.file(bucket, r.name)).catch(() => {});
      return rows;
    });
    return Response.json(removed.map((r) => ({ name: r.name, bucket_id: r.bucket_id, id: r.id })));
  }
}
