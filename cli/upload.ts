/**
 * Uploads a file to Storage resumably with TUS (`/storage/v1/upload/resumable`, what Supabase
 * requires past 50 MB), in 6 MB chunks read straight from the file, so an export of several GB is
 * never held in memory. Each upload's URL is remembered under the file's path, size and mtime: if
 * a run is interrupted, re-running the same import continues from the byte the server has.
 */
import fs from "node:fs";
import { type PreviousUpload, Upload, type UrlStorage } from "tus-js-client";

/** Supabase Storage takes resumable uploads in chunks of exactly this size (the last may be shorter). */
export const CHUNK_SIZE = 6 * 1024 * 1024;

export interface UploadTarget {
  apiUrl: string;
  /** The user's access token: the upload is checked against the bucket's policies as that user. */
  token: string;
  apikey: string;
  bucket: string;
  /** Object key for a new upload; a resumed one keeps the key it was started under. */
  key: string;
}

export interface UploadOptions {
  /** Where upload URLs are remembered for resuming (JSON file). */
  urlStore?: string;
  onProgress?: (sent: number, total: number) => void;
  /** Stops the upload; what the server already has stays there for the next run to resume. */
  signal?: AbortSignal;
}

const DEFAULT_URL_STORE = new URL("../.platform/tus-uploads.json", import.meta.url).pathname;

/**
 * tus-js-client's URL storage on a small JSON file: `fingerprint -> upload`. (Its own FileUrlStorage
 * needs proper-lockfile; one CLI run at a time per user is enforced by the import command anyway.)
 */
class JsonUrlStorage implements UrlStorage {
  constructor(private path: string) {}

  private async read(): Promise<Record<string, PreviousUpload>> {
    try {
      return JSON.parse(await Deno.readTextFile(this.path));
    } catch {
      return {};
    }
  }

  private async write(data: Record<string, PreviousUpload>): Promise<void> {
    await Deno.mkdir(this.path.slice(0, this.path.lastIndexOf("/")) || ".", { recursive: true });
    await Deno.writeTextFile(this.path, JSON.stringify(data, null, 1));
  }

  async findAllUploads(): Promise<PreviousUpload[]> {
    return Object.entries(await this.read()).map(([k, u]) => ({ ...u, urlStorageKey: k }));
  }

  async findUploadsByFingerprint(fingerprint: string): Promise<PreviousUpload[]> {
    return (await this.findAllUploads()).filter((u) => u.urlStorageKey.startsWith(`tus::${fingerprint}::`));
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    const data = await this.read();
    delete data[urlStorageKey];
    await this.write(data);
  }

  /** Drops every remembered entry for `url` (a finished upload has nothing left to resume). */
  async forget(url: string): Promise<void> {
    const data = await this.read();
    for (const [k, u] of Object.entries(data)) if (u.uploadUrl === url) delete data[k];
    await this.write(data);
  }

  async addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    const data = await this.read();
    const key = `tus::${fingerprint}::${crypto.randomUUID()}`;
    data[key] = upload;
    await this.write(data);
    return key;
  }
}

/** The object key in a Supabase resumable upload URL: its last segment is base64url("bucket/key/version"). */
function keyOfUploadUrl(url: string, bucket: string): string | null {
  const id = url.split("/").pop()!;
  try {
    const raw = atob(id.replaceAll("-", "+").replaceAll("_", "/"));
    const s = new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
    const m = s.match(/^([^/]+)\/(.+)\/[^/]+$/);
    return m && m[1] === bucket ? m[2]! : null;
  } catch {
    return null;
  }
}

/**
 * Uploads `file`, resuming an earlier interrupted upload of the same file into the same folder.
 * Resolves with the object key actually written (the earlier upload's key when resumed); rejects
 * with a readable message (Storage's own when it refuses).
 */
export async function uploadFile(target: UploadTarget, file: string, opts: UploadOptions = {}): Promise<string> {
  const size = (await Deno.stat(file)).size;
  const folder = target.key.split("/")[0]!;
  // A path-backed ReadStream: tus-js-client reads each chunk as its own ranged stream of the file.
  const source = fs.createReadStream(file);
  const urlStorage = new JsonUrlStorage(opts.urlStore ?? DEFAULT_URL_STORE);
  let upload: Upload | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new Error("upload aborted"));
      upload = new Upload(source as never, {
        endpoint: new URL("/storage/v1/upload/resumable", target.apiUrl).href,
        headers: { authorization: `Bearer ${target.token}`, apikey: target.apikey, "x-upsert": "false" },
        metadata: {
          bucketName: target.bucket,
          objectName: target.key,
          contentType: "application/octet-stream",
          cacheControl: "3600",
        },
        uploadSize: size,
        chunkSize: CHUNK_SIZE,
        retryDelays: [0, 1000, 3000, 5000],
        urlStorage,
        storeFingerprintForResuming: true,
        // Forgotten in onSuccess instead: tus-js-client's own removal is not awaited before it.
        removeFingerprintOnSuccess: false,
        onProgress: opts.onProgress,
        onError: (e) => {
          const body = (e as { originalResponse?: { getBody(): string } | null }).originalResponse?.getBody();
          let message = e.message;
          try {
            message = JSON.parse(body ?? "").message ?? message;
          } catch { /* not JSON: keep tus-js-client's message */ }
          reject(new Error(`upload failed: ${message}`));
        },
        onSuccess: () => {
          const url = upload!.url ?? "";
          const key = keyOfUploadUrl(url, target.bucket);
          if (!key) return reject(new Error(`upload failed: unexpected upload URL ${url}`));
          urlStorage.forget(url).then(() => resolve(key), reject);
        },
      });
      opts.signal?.addEventListener("abort", () => {
        upload!.abort().finally(() => reject(new Error("upload aborted")));
      }, { once: true });
      upload.findPreviousUploads().then((previous) => {
        const mine = previous
          .filter((p) => p.metadata.bucketName === target.bucket && p.metadata.objectName?.startsWith(`${folder}/`))
          .sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
        if (mine) upload!.resumeFromPreviousUpload(mine);
        upload!.start();
      }, reject);
    });
  } finally {
    source.destroy();
  }
}
