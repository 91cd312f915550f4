/**
 * Local platform (never deployed): resumable uploads with the TUS 1.0.0 protocol, at the address and
 * with the metadata Supabase Storage uses, so the CLI's upload code is the one that runs against
 * the hosted project (where standard uploads stop at 50 MB on the free plan).
 *   OPTIONS /storage/v1/upload/resumable        capabilities (no auth: CORS preflight)
 *   POST    /storage/v1/upload/resumable        create: Upload-Length, Upload-Metadata (bucketName,
 *                                               objectName, contentType), x-upsert -> 201 + Location
 *   HEAD    /storage/v1/upload/resumable/<id>   Upload-Offset, Upload-Length
 *   PATCH   /storage/v1/upload/resumable/<id>   append at Upload-Offset (application/offset+octet-stream)
 *   DELETE  /storage/v1/upload/resumable/<id>   abandon (termination extension)
 * The id is base64url("<bucket>/<object name>/<version>") as on Supabase. Creating and appending are
 * checked against the storage policies as the caller (the object insert, rolled back); the object
 * row and file appear only when the last byte arrives, through the same commit as a standard upload.
 *
 * Hand-written rather than @tus/server: that package is built around its own data stores and Node
 * request objects, while all this needs is an append-only file per upload plus StorageApi's checks
 * and commit; the protocol surface used by tus-js-client is small.
 */
import { type Claims, err, type StorageApi } from "./storage.ts";

const TUS_VERSION = "1.0.0";
const OFFSET_TYPE = "application/offset+octet-stream";

/** What is remembered about an upload between requests (`<id>.json` beside the data file). */
interface UploadInfo {
  bucket: string;
  name: string;
  size: number;
  contentType: string;
  upsert: boolean;
}

/** Parses `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key alone means ""). */
export function parseMetadata(header: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const pair of header.split(",")) {
    const [key, value, extra] = pair.trim().split(" ");
    if (!key || extra !== undefined) return null;
    try {
      out[key] = value ? new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0))) : "";
    } catch {
      return null;
    }
  }
  return out;
}

const toBase64Url = (s: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(s))).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );

export class TusUploads {
  /** Ids with a PATCH in flight: a second writer would interleave bytes, so it waits (423). */
  private writing = new Set<string>();

  constructor(private storage: StorageApi, private dir: string) {}

  async handle(req: Request, rest: string): Promise<Response> {
    const headers = new Headers({ "tus-resumable": TUS_VERSION });
    const reply = (res: Response) => {
      headers.forEach((v, k) => res.headers.set(k, v));
      return res;
    };
    if (req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          "tus-resumable": TUS_VERSION,
          "tus-version": TUS_VERSION,
          "tus-extension": "creation,termination",
          "access-control-allow-methods": "POST, HEAD, PATCH, OPTIONS, DELETE",
          "access-control-allow-headers":
            "authorization, apikey, x-upsert, tus-resumable, upload-length, upload-metadata, upload-offset, content-type",
          "access-control-expose-headers": "location, tus-resumable, upload-offset, upload-length",
        },
      });
    }
    if (req.headers.get("tus-resumable") !== TUS_VERSION) {
      await req.body?.cancel();
      return reply(err(412, "InvalidTusVersion", `Tus-Resumable ${TUS_VERSION} is required`, {
        "tus-version": TUS_VERSION,
      }));
    }
    const claims = await this.storage.claims(req);
    if (!claims) {
      await req.body?.cancel();
      return reply(err(400, "Unauthorized", "Invalid JWT"));
    }
    try {
      if (rest === "" || rest === "/") {
        if (req.method === "POST") return reply(await this.create(req, claims));
        return reply(err(405, "method_not_allowed", `${req.method} is not supported here`));
      }
      const id = rest.slice(1);
      const info = /^[A-Za-z0-9_-]+$/.test(id) ? await this.info(id) : null;
      if (!info) {
        await req.body?.cancel();
        return reply(err(404, "not_found", "Upload not found"));
      }
      if (req.method === "HEAD") return reply(await this.head(id, info));
      if (req.method === "PATCH") return reply(await this.patch(req, claims, id, info));
      if (req.method === "DELETE") return reply(await this.terminate(claims, id, info));
      await req.body?.cancel();
      return reply(err(405, "method_not_allowed", `${req.method} is not supported here`));
    } catch (e) {
      return reply(err(500, "internal", String(e)));
    }
  }

  private data(id: string) {
    return `${this.dir}/${id}`;
  }

  private async info(id: string): Promise<UploadInfo | null> {
    try {
      return JSON.parse(await Deno.readTextFile(`${this.dir}/${id}.json`)) as UploadInfo;
    } catch {
      return null;
    }
  }

  private async offset(id: string): Promise<number> {
    return (await Deno.stat(this.data(id))).size;
  }

  private async create(req: Request, claims: Claims): Promise<Response> {
    await req.body?.cancel(); // creation-with-upload is not offered; data comes by PATCH
    const length = req.headers.get("upload-length");
    if (!length || !/^\d+$/.test(length)) {
      return err(400, "InvalidUploadLength", "Upload-Length must be a non-negative integer");
    }
    const size = Number(length);
    const meta = parseMetadata(req.headers.get("upload-metadata") ?? "");
    if (!meta) return err(400, "InvalidUploadMetadata", "Upload-Metadata is not valid key base64 pairs");
    const bucket = meta.bucketName, name = meta.objectName;
    if (!bucket || !name) {
      return err(400, "MetadataRequired", "Upload-Metadata must name bucketName and objectName");
    }
    if (!this.storage.validKey(name)) return err(400, "InvalidKey", "Invalid key");
    const bucketInfo = await this.storage.bucket(bucket);
    if (!bucketInfo) return err(404, "Bucket not found", "Bucket not found");
    const limit = bucketInfo.file_size_limit === null ? Infinity : Number(bucketInfo.file_size_limit);
    if (size > limit) return err(413, "Payload too large", "The object exceeded the maximum allowed size");
    const contentType = (meta.contentType || "application/octet-stream").split(";")[0]!.trim();
    const badMime = this.storage.mimeRefusal(bucketInfo, contentType);
    if (badMime) return badMime;
    const upsert = req.headers.get("x-upsert") === "true";
    const refused = await this.storage.canInsert(claims, bucket, name, upsert);
    if (refused) return refused;

    const id = toBase64Url(`${bucket}/${name}/${crypto.randomUUID()}`);
    const info: UploadInfo = { bucket, name, size, contentType, upsert };
    await Deno.mkdir(this.dir, { recursive: true });
    await Deno.writeFile(this.data(id), new Uint8Array());
    await Deno.writeTextFile(`${this.dir}/${id}.json`, JSON.stringify(info));
    const location = new URL(`/storage/v1/upload/resumable/${id}`, req.url).href;
    if (size === 0) {
      const done = await this.finish(claims, id, info);
      if (!done.ok) return done;
    }
    return new Response(null, { status: 201, headers: { location, "upload-offset": "0" } });
  }

  private async head(id: string, info: UploadInfo): Promise<Response> {
    return new Response(null, {
      status: 200,
      headers: {
        "upload-offset": String(await this.offset(id)),
        "upload-length": String(info.size),
        "cache-control": "no-store",
      },
    });
  }

  private async patch(req: Request, claims: Claims, id: string, info: UploadInfo): Promise<Response> {
    const refuse = async (res: Response) => {
      await req.body?.cancel();
      return res;
    };
    if (req.headers.get("content-type")?.split(";")[0]?.trim() !== OFFSET_TYPE) {
      return await refuse(err(415, "InvalidContentType", `Content-Type must be ${OFFSET_TYPE}`));
    }
    const claimed = req.headers.get("upload-offset");
    if (!claimed || !/^\d+$/.test(claimed)) {
      return await refuse(err(400, "InvalidUploadOffset", "Upload-Offset must be a non-negative integer"));
    }
    if (this.writing.has(id)) return await refuse(err(423, "Locked", "Another request is writing this upload"));
    // Appending is creating the object: the caller must be allowed to, as on Supabase.
    const refused = await this.storage.canInsert(claims, info.bucket, info.name, info.upsert);
    if (refused) return await refuse(refused);
    if (this.writing.has(id)) return await refuse(err(423, "Locked", "Another request is writing this upload"));
    this.writing.add(id);
    let offset = await this.offset(id);
    try {
      if (Number(claimed) !== offset) {
        return await refuse(
          err(409, "OffsetMismatch", `Upload-Offset ${claimed} does not match the upload's offset ${offset}`, {
            "upload-offset": String(offset),
          }),
        );
      }
      const out = await Deno.open(this.data(id), { append: true });
      try {
        // Bytes are kept as they arrive: if the connection drops, HEAD reports what was stored
        // and the client resumes from there.
        for await (const chunk of req.body ?? new ReadableStream<Uint8Array>()) {
          if (offset + chunk.byteLength > info.size) {
            const fits = chunk.subarray(0, info.size - offset);
            await out.write(fits);
            offset += fits.byteLength;
            await req.body?.cancel().catch(() => {});
            return err(400, "ExceedsUploadLength", `the upload is ${info.size} bytes; the body runs past it`, {
              "upload-offset": String(offset),
            });
          }
          let written = 0;
          while (written < chunk.byteLength) written += await out.write(chunk.subarray(written));
          offset += chunk.byteLength;
        }
      } catch {
        // The client went away mid-body; what arrived is stored and the next HEAD says so.
        return err(400, "ConnectionClosed", "the request body ended early", { "upload-offset": String(offset) });
      } finally {
        out.close();
      }
      if (offset === info.size) {
        const done = await this.finish(claims, id, info);
        if (!done.ok) return done;
      }
      return new Response(null, { status: 204, headers: { "upload-offset": String(offset) } });
    } finally {
      this.writing.delete(id);
    }
  }

  /** The last byte is in: the data file becomes the object (policies checked again, as the caller). */
  private async finish(claims: Claims, id: string, info: UploadInfo): Promise<Response> {
    const res = await this.storage.commit(claims, info.bucket, info.name, this.data(id), info.contentType, info.upsert);
    // commit moved the data into place (or removed it when refused): the upload is over either way.
    await Deno.remove(`${this.dir}/${id}.json`).catch(() => {});
    await Deno.remove(this.data(id)).catch(() => {});
    return res;
  }

  private async terminate(claims: Claims, id: string, info: UploadInfo): Promise<Response> {
    const refused = await this.storage.canInsert(claims, info.bucket, info.name, info.upsert);
    if (refused) return refused;
    if (this.writing.has(id)) return err(423, "Locked", "Another request is writing this upload");
    await Deno.remove(`${this.dir}/${id}.json`).catch(() => {});
    await Deno.remove(this.data(id)).catch(() => {});
    return new Response(null, { status: 204 });
  }
}
