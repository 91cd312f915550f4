/**
 * ObjectStore: byte ranges of uploaded objects, through supabase-js's Storage client (HTTP
 * Range requests), so a function never holds a whole export in memory.
 */
import { StorageClient } from "@supabase/storage-js";
import { PipelineError } from "../processors/errors.ts";
import type { ImportObject } from "../processors/import-path.ts";

export interface ObjectReader {
  size: number;
  /** Bytes [start, end) of the object. */
  read(start: number, end: number): Promise<Uint8Array>;
}

export interface ObjectStore {
  /**
   * Opens a checked import object (see importObject): only its percent-encoded key reaches a URL.
   * @throws PipelineError EXPORT_NOT_FOUND | STORAGE_UNAVAILABLE
   */
  open(object: ImportObject): Promise<ObjectReader>;
}

export class SupabaseObjectStore implements ObjectStore {
  constructor(private url: string, private serviceKey: string, private fetchImpl: typeof fetch = fetch) {}

  /** One ranged download; the Content-Range of the reply is captured for the object's size. */
  private async ranged(
    { bucket, encodedKey }: ImportObject,
    range: string,
  ): Promise<{ bytes: Uint8Array; total: number | null; status: number }> {
    let status = 0, contentRange: string | null = null;
    const capture: typeof fetch = async (input, init) => {
      const res = await this.fetchImpl(input, { ...init, signal: AbortSignal.timeout(60_000) });
      status = res.status;
      contentRange = res.headers.get("content-range");
      return res;
    };
    const client = new StorageClient(`${this.url}/storage/v1`, {
      apikey: this.serviceKey,
      Authorization: `Bearer ${this.serviceKey}`,
      Range: range,
    }, capture);
    // storage-js puts the key into the URL as given: it must already be encoded.
    const { data, error } = await client.from(bucket).download(encodedKey);
    const total = contentRange ? Number(String(contentRange).split("/")[1]) : null;
    if (error) {
      if (status === 404 || status === 400) {
        throw new PipelineError(
          "EXPORT_NOT_FOUND",
          "the uploaded export was not found in storage (deleted, or the upload did not finish)",
        );
      }
      if (status === 416) return { bytes: new Uint8Array(0), total: Number.isFinite(total) ? total : 0, status };
      throw new PipelineError("STORAGE_UNAVAILABLE", `storage read failed (${status || error.message})`, {
        cause: error,
      });
    }
    return { bytes: new Uint8Array(await data.arrayBuffer()), total: Number.isFinite(total) ? total : null, status };
  }

  async open(object: ImportObject): Promise<ObjectReader> {
    const head = await this.ranged(object, "bytes=0-0");
    const size = head.total ?? head.bytes.length;
    return {
      size,
      read: async (start, end) => {
        if (end <= start) return new Uint8Array(0);
        const r = await this.ranged(object, `bytes=${start}-${end - 1}`);
        return r.bytes;
      },
    };
  }
}
