/**
 * Uploads a file to Storage as a stream (POST /storage/v1/object/<bucket>/<key>, the request the
 * Supabase client sends), so an export of several GB is never held in memory. node:http is used
 * because Deno's fetch sends a streamed request body at ~8 MB/s here; this path runs at disk speed.
 */
import http from "node:http";
import https from "node:https";
import fs from "node:fs";

export interface UploadTarget {
  apiUrl: string;
  /** The user's access token: the upload is checked against the bucket's policies as that user. */
  token: string;
  apikey: string;
  bucket: string;
  key: string;
}

/** Streams `file` to Storage; rejects with a readable message (Storage's own when it refuses). */
export async function uploadFile(target: UploadTarget, file: string): Promise<void> {
  const size = (await Deno.stat(file)).size;
  const url = new URL(
    `/storage/v1/object/${target.bucket}/${target.key.split("/").map(encodeURIComponent).join("/")}`,
    target.apiUrl,
  );
  const client = url.protocol === "https:" ? https : http;
  await new Promise<void>((resolve, reject) => {
    const req = client.request(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${target.token}`,
        apikey: target.apikey,
        "content-type": "application/octet-stream",
        "content-length": size,
        "x-upsert": "false",
      },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve();
        const text = Buffer.concat(parts).toString("utf8");
        let message = text;
        try {
          message = JSON.parse(text).message ?? text;
        } catch { /* not JSON */ }
        reject(new Error(`upload failed (${status}): ${message}`));
      });
      res.on("error", reject);
    });
    req.on("error", (err) => reject(new Error(`upload failed: ${err.message}`)));
    const body = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    body.on("error", (err) => {
      req.destroy();
      reject(new Error(`cannot read ${file}: ${err.message}`));
    });
    body.pipe(req);
  });
}
