/**
 * Resumable raw-deflate decoding (zlib's zran technique on pako's inflater). While inflating
 * with Z_BLOCK, every deflate block boundary yields a checkpoint: the compressed offset, the
 * 0..7 bits of the current byte not yet used, and the last 32 KB of output. Resuming restores
 * those bits into the inflater and the 32 KB as its dictionary, then feeds input from the
 * offset — no re-inflation from the start, so slicing a 5 GB archive stays linear.
 */
import {
  Z_BLOCK,
  Z_BUF_ERROR,
  Z_OK,
  Z_STREAM_END,
  zlibInflate,
  zlibInflateInit2,
  zlibInflateSetDictionary,
  ZStream,
} from "pako";
import { ingestError } from "./errors.ts";
import { MAX_EXPANDED_BYTES, MAX_RATIO, RATIO_MIN_OUTPUT } from "./limits.ts";

/** Reads bytes [start, end) of the uploaded object. */
export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

export interface InflateCheckpoint {
  /** Absolute offset in the object of the next compressed byte. */
  in: number;
  /** Unused bits of the previous byte (0..7) and their value. */
  bits: number;
  hold: number;
  /** Decompressed offset at this boundary. */
  out: number;
  /** Last up-to-32 KB of output before `out`, base64. */
  window: string;
}

const WINDOW = 32 * 1024;
const IN_CHUNK = 2 * 1024 * 1024;
const OUT_CHUNK = 1024 * 1024;

function toB64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
function fromB64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** Streams decompressed chunks of the deflate data in [start, end) of the object. */
export class Inflater {
  /** Latest block-boundary checkpoint seen (none until the first boundary). */
  checkpoints: InflateCheckpoint[] = [];
  private strm = new ZStream();
  private inPos: number;
  private outPos: number;
  private ring = new Uint8Array(WINDOW);
  private ringLen = 0;
  private ringHead = 0; // next write index

  /**
   * @param maxOut decompressed bytes allowed in total: a zip entry's declared size (more is a
   *   bomb) or MAX_EXPANDED_BYTES (more is too large).
   * @throws PipelineError EXPORT_CORRUPT_ARCHIVE on bad deflate data; EXPORT_ZIP_BOMB when the
   *   output passes MAX_RATIO times the input read for it (checked past RATIO_MIN_OUTPUT) or a
   *   zip entry's declared size; EXPORT_TOO_LARGE past MAX_EXPANDED_BYTES.
   */
  constructor(
    private read: ReadRange,
    private start: number,
    private end: number,
    private maxOut: number,
    from?: InflateCheckpoint,
    private outChunk = OUT_CHUNK,
  ) {
    zlibInflateInit2(this.strm, -15);
    this.strm.avail_in = 0;
    if (from) {
      this.inPos = from.in;
      this.outPos = from.out;
      this.strm.state.hold = from.hold;
      this.strm.state.bits = from.bits;
      const win = fromB64(from.window);
      if (win.length) {
        if (zlibInflateSetDictionary(this.strm, win) !== Z_OK) {
          throw ingestError("EXPORT_CORRUPT_ARCHIVE", "could not resume the archive");
        }
        this.remember(win);
      }
    } else {
      this.inPos = start;
      this.outPos = 0;
    }
  }

  /** Decompressed offset of the next byte `next()` returns. */
  get position(): number {
    return this.outPos;
  }

  private remember(bytes: Uint8Array): void {
    if (bytes.length >= WINDOW) {
      this.ring.set(bytes.subarray(bytes.length - WINDOW));
      this.ringHead = 0;
      this.ringLen = WINDOW;
      return;
    }
    const first = Math.min(bytes.length, WINDOW - this.ringHead);
    this.ring.set(bytes.subarray(0, first), this.ringHead);
    this.ring.set(bytes.subarray(first), 0);
    this.ringHead = (this.ringHead + bytes.length) % WINDOW;
    this.ringLen = Math.min(WINDOW, this.ringLen + bytes.length);
  }

  private windowCopy(): Uint8Array {
    const out = new Uint8Array(this.ringLen);
    const start = (this.ringHead - this.ringLen + WINDOW) % WINDOW;
    const first = Math.min(this.ringLen, WINDOW - start);
    out.set(this.ring.subarray(start, start + first));
    out.set(this.ring.subarray(0, this.ringLen - first), first);
    return out;
  }

  /** The next decompressed chunk, or null at the end of the deflate stream. */
  async next(): Promise<Uint8Array | null> {
    if (this.ended) return null;
    const s = this.strm;
    const buf = new Uint8Array(this.outChunk);
    s.output = buf;
    s.next_out = 0;
    s.avail_out = buf.length;
    for (;;) {
      if (s.avail_in === 0 && this.inPos >= this.end) {
        // No input left: the inflater may still finish from its bit buffer.
        const before = s.next_out;
        const ret = zlibInflate(s, Z_BLOCK);
        if (s.next_out > before) this.remember(buf.subarray(before, s.next_out));
        if (ret === Z_STREAM_END) this.ended = true;
        else if (s.next_out === before) {
          if (before > 0) break;
          throw ingestError("EXPORT_TRUNCATED", "the archive ends before its data does (truncated upload?)");
        }
        if (this.ended || s.avail_out === 0) break;
        continue;
      }
      if (s.avail_in === 0) {
        const chunk = await this.read(this.inPos, Math.min(this.inPos + IN_CHUNK, this.end));
        s.input = chunk;
        s.next_in = 0;
        s.avail_in = chunk.length;
        this.inputBase = this.inPos;
        this.inPos += chunk.length;
      }
      const before = s.next_out;
      const ret = zlibInflate(s, Z_BLOCK);
      if (ret !== Z_OK && ret !== Z_STREAM_END && ret !== Z_BUF_ERROR) {
        throw ingestError("EXPORT_CORRUPT_ARCHIVE", `the compressed data is damaged (${s.msg || ret})`);
      }
      if (s.next_out > before) this.remember(buf.subarray(before, s.next_out));
      const out = this.outPos + s.next_out;
      if (out > this.maxOut) {
        throw this.maxOut >= MAX_EXPANDED_BYTES
          ? ingestError("EXPORT_TOO_LARGE", `the export expands to more than ${MAX_EXPANDED_BYTES} bytes`)
          : ingestError("EXPORT_ZIP_BOMB", "the archive expands far beyond its declared size");
      }
      // Ratio over the whole stream so far (offsets are absolute, so this holds across resumes).
      if (out > RATIO_MIN_OUTPUT && out > MAX_RATIO * (this.inputBase + s.next_in - this.start)) {
        throw ingestError(
          "EXPORT_ZIP_BOMB",
          `the archive expands more than ${MAX_RATIO}:1 (${out} bytes from ${
            this.inputBase + s.next_in - this.start
          }): refused as a decompression bomb`,
        );
      }
      if (ret === Z_STREAM_END) {
        this.ended = true;
        if (s.next_out === 0) return null;
        break;
      }
      if ((s.data_type & 128) && !(s.data_type & 64)) {
        // pako keeps whole bytes in its bit buffer too, so take the count from its state
        // rather than from data_type's low three bits.
        const bits: number = s.state.bits;
        this.checkpoints.push({
          in: this.inputBase + s.next_in,
          bits,
          hold: bits ? (s.state.hold >>> 0) % 2 ** bits : 0,
          out: this.outPos + s.next_out,
          window: "", // filled lazily: only the checkpoint a cursor uses needs its window
        });
        this.windows.set(this.outPos + s.next_out, this.windowCopy());
      }
      if (s.avail_out === 0) break;
    }
    const out = buf.subarray(0, s.next_out);
    this.outPos += out.length;
    return out;
  }

  private windows = new Map<number, Uint8Array>();
  private ended = false;
  /** Absolute offset of the current input chunk's first byte. */
  private inputBase = 0;

  /**
   * Forgets checkpoints no cursor can need any more. `pos` is where the caller may resume from,
   * after consuming all output returned so far; later resume points are `pos` itself or lie past
   * that output. So only the latest checkpoint at or before `pos` and the newest one are kept:
   * memory stays bounded (two 32 KB windows) on long streams and inside a large conversation.
   */
  release(pos: number): void {
    const n = this.checkpoints.length;
    let forPos = -1;
    for (let i = n - 1; i >= 0; i--) {
      if (this.checkpoints[i]!.out <= pos) {
        forPos = i;
        break;
      }
    }
    const kept: InflateCheckpoint[] = [];
    this.checkpoints.forEach((cp, i) => {
      if (i === forPos || i === n - 1) kept.push(cp);
      else this.windows.delete(cp.out);
    });
    this.checkpoints = kept;
  }

  /** The latest checkpoint at or before decompressed offset `pos`, with its window. */
  checkpointAtOrBefore(pos: number): InflateCheckpoint | null {
    for (let i = this.checkpoints.length - 1; i >= 0; i--) {
      const cp = this.checkpoints[i]!;
      if (cp.out <= pos) {
        const win = this.windows.get(cp.out);
        return win ? { ...cp, window: toB64(win) } : null;
      }
    }
    return null;
  }
}
