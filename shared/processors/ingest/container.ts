/**
 * Finds the conversations JSON inside an upload, by content (magic bytes), not by name:
 * a zip (conversations.json at the root or in a folder; zip64 aware), a gzip, or plain JSON.
 * Reads only what it needs: the zip's end records and central directory, or a header.
 */
import { ingestError } from "./errors.ts";
import type { ReadRange } from "./inflate.ts";
import { MAX_EXPANDED_BYTES, MAX_RATIO, RATIO_MIN_OUTPUT } from "./limits.ts";

export interface DataLocation {
  format: "json" | "zip" | "gzip";
  method: "stored" | "deflate";
  /** Where the (compressed or plain) JSON bytes lie in the object. */
  start: number;
  end: number;
  /** Most decompressed bytes allowed (declared size + margin, or MAX_EXPANDED_BYTES). */
  maxExpanded: number;
  /** Entry name inside a zip, for messages. */
  entry?: string;
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 0x100000000;

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compSize: number;
  size: number;
  offset: number;
}

async function zipEntries(read: ReadRange, size: number): Promise<ZipEntry[]> {
  const tailLen = Math.min(size, 22 + 65535 + 20);
  const tail = await read(size - tailLen, size);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw ingestError(
      "EXPORT_TRUNCATED",
      "the zip file is incomplete (no end-of-archive record): was the upload cut short?",
    );
  }
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(tail, loc) !== 0x07064b50) {
      throw ingestError("EXPORT_CORRUPT_ARCHIVE", "the zip64 records are missing");
    }
    const z64 = await read(u64(tail, loc + 8), u64(tail, loc + 8) + 56);
    if (u32(z64, 0) !== 0x06064b50) throw ingestError("EXPORT_CORRUPT_ARCHIVE", "the zip64 end record is damaged");
    count = u64(z64, 32);
    cdSize = u64(z64, 40);
    cdOffset = u64(z64, 48);
  }
  if (cdOffset + cdSize > size || cdSize > 64 * 1024 * 1024) {
    throw ingestError("EXPORT_CORRUPT_ARCHIVE", "the zip's directory points outside the file");
  }
  const cd = await read(cdOffset, cdOffset + cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  const dec = new TextDecoder();
  for (let i = 0; i < count && p + 46 <= cd.length; i++) {
    if (u32(cd, p) !== 0x02014b50) throw ingestError("EXPORT_CORRUPT_ARCHIVE", "the zip's directory is damaged");
    const nameLen = u16(cd, p + 28), extraLen = u16(cd, p + 30), commentLen = u16(cd, p + 32);
    const e: ZipEntry = {
      flags: u16(cd, p + 8),
      method: u16(cd, p + 10),
      compSize: u32(cd, p + 20),
      size: u32(cd, p + 24),
      offset: u32(cd, p + 42),
      name: dec.decode(cd.subarray(p + 46, p + 46 + nameLen)),
    };
    // zip64 extra field: the 0xffffffff fields, in order size, compSize, offset.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = u16(cd, x), len = u16(cd, x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (e.size === 0xffffffff) (e.size = u64(cd, q), q += 8);
        if (e.compSize === 0xffffffff) (e.compSize = u64(cd, q), q += 8);
        if (e.offset === 0xffffffff) e.offset = u64(cd, q);
      }
      x += 4 + len;
    }
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * Entry names that climb out of the archive (`../`) or are absolute. Nothing is ever extracted
 * to disk, but no export tool writes such names: an archive holding one is refused, not read.
 */
function unsafeName(name: string): boolean {
  return /^([\\/]|[a-z]:)/i.test(name) || name.split(/[\\/]/).includes("..");
}

async function locateInZip(read: ReadRange, size: number): Promise<DataLocation> {
  const entries = await zipEntries(read, size);
  const unsafe = entries.find((e) => unsafeName(e.name));
  if (unsafe) {
    throw ingestError(
      "EXPORT_CORRUPT_ARCHIVE",
      `the zip's entry "${unsafe.name.slice(0, 100)}" points outside the archive: this is not an export zip`,
    );
  }
  const candidates = entries.filter((e) =>
    /(^|\/)conversations\.json$/i.test(e.name) && !e.name.startsWith("__MACOSX/")
  ).sort((a, b) => a.name.split("/").length - b.name.split("/").length);
  const e = candidates[0];
  if (!e) {
    throw ingestError(
      "EXPORT_NO_CONVERSATIONS_JSON",
      "this zip has no conversations.json: upload the export zip from ChatGPT (Settings > Data controls > Export) or Claude.ai",
    );
  }
  if (e.flags & 1) throw ingestError("EXPORT_UNSUPPORTED_FORMAT", "the zip is password-protected");
  if (e.method !== 0 && e.method !== 8) {
    throw ingestError("EXPORT_UNSUPPORTED_FORMAT", `the zip uses an unsupported compression (method ${e.method})`);
  }
  if (e.size > MAX_EXPANDED_BYTES) {
    throw ingestError(
      "EXPORT_TOO_LARGE",
      `conversations.json is ${e.size} bytes uncompressed; at most ${MAX_EXPANDED_BYTES} can be imported`,
    );
  }
  // The declared sizes can lie: the inflater checks the ratio again on what it really produces.
  if (e.method === 8 && e.size > RATIO_MIN_OUTPUT && e.size > MAX_RATIO * e.compSize) {
    throw ingestError(
      "EXPORT_ZIP_BOMB",
      `conversations.json would expand to ${e.size} bytes from ${e.compSize} (more than ${MAX_RATIO}:1): refused as a zip bomb`,
    );
  }
  const lh = await read(e.offset, Math.min(e.offset + 30, size));
  if (lh.length < 30 || u32(lh, 0) !== 0x04034b50) {
    throw ingestError("EXPORT_CORRUPT_ARCHIVE", "the zip entry's header is damaged");
  }
  const start = e.offset + 30 + u16(lh, 26) + u16(lh, 28);
  const end = start + e.compSize;
  if (end > size) throw ingestError("EXPORT_TRUNCATED", "the zip file is incomplete: conversations.json is cut short");
  return {
    format: "zip",
    method: e.method === 8 ? "deflate" : "stored",
    start,
    end,
    maxExpanded: Math.min(MAX_EXPANDED_BYTES, e.size + 1024),
    entry: e.name,
  };
}

function locateInGzip(head: Uint8Array, size: number): DataLocation {
  if (head.length < 18 || head[2] !== 8) throw ingestError("EXPORT_CORRUPT_ARCHIVE", "the gzip header is damaged");
  const flags = head[3]!;
  let p = 10;
  if (flags & 4) p += 2 + u16(head, p);
  if (flags & 8) { while (p < head.length && head[p++] !== 0); }
  if (flags & 16) { while (p < head.length && head[p++] !== 0); }
  if (flags & 2) p += 2;
  if (p >= head.length) throw ingestError("EXPORT_CORRUPT_ARCHIVE", "the gzip header is damaged");
  return { format: "gzip", method: "deflate", start: p, end: size - 8, maxExpanded: MAX_EXPANDED_BYTES };
}

/**
 * Locates the JSON data of an upload of `size` bytes.
 * @throws PipelineError EXPORT_EMPTY, EXPORT_UNSUPPORTED_FORMAT, EXPORT_NO_CONVERSATIONS_JSON,
 *   EXPORT_ZIP_BOMB, EXPORT_TRUNCATED, EXPORT_CORRUPT_ARCHIVE
 */
export async function locateData(read: ReadRange, size: number): Promise<DataLocation> {
  if (size === 0) throw ingestError("EXPORT_EMPTY", "the uploaded file is empty (0 bytes)");
  const head = await read(0, Math.min(size, 64 * 1024));
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return await locateInZip(read, size);
  if (head[0] === 0x1f && head[1] === 0x8b) return locateInGzip(head, size);
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] === 0x5b || head[i] === 0x7b) {
    return { format: "json", method: "stored", start: i, end: size, maxExpanded: size };
  }
  throw ingestError(
    "EXPORT_UNSUPPORTED_FORMAT",
    "this file is not a chat export: expected a .zip from ChatGPT or Claude.ai, a conversations.json, or a .gz of it",
  );
}
