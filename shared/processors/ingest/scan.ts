/**
 * Finds the top-level elements of the conversations array in a byte stream without parsing
 * them: a byte scanner that tracks strings, escapes and nesting, so each conversation can be
 * handed to the native JSON.parse on its own. Incremental: bytes arrive in chunks; every
 * position after a completed element is a safe point to resume from.
 */
import { ingestError } from "./errors.ts";

export interface ScannedElement {
  /** Absolute decompressed offsets [start, end). */
  start: number;
  end: number;
  /** The element's bytes, or null when it was larger than the limit (skipped). */
  bytes: Uint8Array | null;
}

const WS = new Uint8Array(256);
for (const c of [0x20, 0x0a, 0x0d, 0x09]) WS[c] = 1;

/**
 * Where the conversations array starts in `buf` (the index after its `[`), for a bare array or
 * a `{"conversations": [...]}` wrapper. Returns -1 when more bytes are needed.
 * @throws PipelineError EXPORT_JSON_INVALID, EXPORT_WRONG_SHAPE
 */
export function findArrayStart(buf: Uint8Array): number {
  let i = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const ws = () => {
    while (i < buf.length && WS[buf[i]!]) i++;
  };
  ws();
  if (i >= buf.length) return -1;
  if (buf[i] === 0x5b) return i + 1;
  if (buf[i] !== 0x7b) throw ingestError("EXPORT_JSON_INVALID", "the file is not valid JSON");
  i++;
  const dec = new TextDecoder();
  for (;;) {
    ws();
    if (i >= buf.length) return -1;
    if (buf[i] === 0x7d) {
      throw ingestError("EXPORT_WRONG_SHAPE", 'the JSON has no "conversations" list: is this a chat export?');
    }
    if (buf[i] !== 0x22) throw ingestError("EXPORT_JSON_INVALID", "the file is not valid JSON");
    const keyStart = ++i;
    while (i < buf.length && buf[i] !== 0x22) i += buf[i] === 0x5c ? 2 : 1;
    if (i >= buf.length) return -1;
    const key = dec.decode(buf.subarray(keyStart, i++));
    ws();
    if (i >= buf.length) return -1;
    if (buf[i++] !== 0x3a) throw ingestError("EXPORT_JSON_INVALID", "the file is not valid JSON");
    ws();
    if (i >= buf.length) return -1;
    if (key === "conversations") {
      if (buf[i] !== 0x5b) throw ingestError("EXPORT_WRONG_SHAPE", '"conversations" is not a list');
      return i + 1;
    }
    // Skip this value.
    let depth = 0, inStr = false;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (inStr) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inStr = false;
        continue;
      }
      if (c === 0x22) inStr = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (depth === 0) break;
        depth--;
      } else if (c === 0x2c && depth === 0) break;
    }
    if (i >= buf.length) return -1;
    if (buf[i] === 0x2c) i++;
  }
}

/**
 * Where the scanner stands inside an element it is skipping (too large to hold): enough to go on
 * scanning for the element's end from `ScanPoint.pos` in a later slice.
 */
export interface SkipState {
  /** Absolute offset where the skipped element starts. */
  start: number;
  depth: number;
  inStr: boolean;
  esc: boolean;
  scalar: boolean;
}

/** A position the scanner can resume from: between elements, or inside a skipped one. */
export interface ScanPoint {
  pos: number;
  skip: SkipState | null;
}

export class ElementScanner {
  /** 'between': outside elements; 'element': inside one; 'done': the array ended. */
  state: "between" | "element" | "done" = "between";
  /** Inside an element: whether its bytes are kept (false once it outgrew the limit). */
  holding = true;
  /**
   * Latest position a new scanner can start from in the 'between' state: after the last
   * completed element and the whitespace that followed it.
   */
  boundary: number;
  /** Absolute offset just after the last byte pushed. */
  private scanned: number;
  private depth = 0;
  private inStr = false;
  private esc = false;
  private scalar = false;
  private start = 0;
  private parts: Uint8Array[] = [];
  private size = 0;

  /**
   * @param from where to start: a 'between' point (e.g. just after the array's `[`) or a point
   *   inside a skipped element, as returned by `resumePoint()`.
   */
  constructor(from: ScanPoint, private maxElement: number) {
    this.boundary = this.scanned = from.pos;
    if (from.skip) {
      this.state = "element";
      this.holding = false;
      ({ start: this.start, depth: this.depth, inStr: this.inStr, esc: this.esc, scalar: this.scalar } = from.skip);
      this.size = maxElement + 1;
    }
  }

  /**
   * Where a later slice resumes: inside a skipped element it is the current position with the
   * scan state, so skipping never re-reads what it skipped; otherwise the last boundary (an
   * element being gathered is read again from its start).
   */
  resumePoint(): ScanPoint {
    if (this.state === "element" && !this.holding) {
      const { start, depth, inStr, esc, scalar } = this;
      return { pos: this.scanned, skip: { start, depth, inStr, esc, scalar } };
    }
    return { pos: this.boundary, skip: null };
  }

  /** Consumes `chunk` (starting at absolute `at`); returns the elements completed in it. */
  push(chunk: Uint8Array, at: number): ScannedElement[] {
    const out: ScannedElement[] = [];
    let i = 0;
    const n = chunk.length;
    let elemFrom = 0; // where the current element starts within this chunk
    this.scanned = at + n;
    while (i < n) {
      if (this.state === "done") break;
      if (this.state === "between") {
        const c = chunk[i]!;
        if (WS[c] || c === 0x2c) {
          i++;
          continue;
        }
        if (c === 0x5d) {
          this.state = "done";
          this.boundary = at + i + 1;
          break;
        }
        this.boundary = at + i; // whitespace runs are passed, never held
        this.state = "element";
        this.holding = true;
        this.start = at + i;
        this.depth = 0;
        this.inStr = false;
        this.esc = false;
        this.scalar = c !== 0x7b && c !== 0x5b && c !== 0x22;
        this.parts = [];
        this.size = 0;
        elemFrom = i;
      }
      // Inside an element: find its end.
      let end = -1;
      if (this.scalar) {
        for (; i < n; i++) {
          const c = chunk[i]!;
          if (c === 0x2c || c === 0x5d || WS[c]) {
            end = i;
            break;
          }
        }
      } else {
        let depth = this.depth, inStr = this.inStr, esc = this.esc;
        for (; i < n; i++) {
          if (inStr) {
            const q = stringEnd(chunk, i, esc);
            if (q < 0) {
              esc = escapedAtEnd(chunk, i, esc);
              i = n;
              break;
            }
            inStr = esc = false;
            i = q;
            if (depth === 0) {
              end = i + 1;
              break;
            }
            continue;
          }
          const c = chunk[i]!;
          if (c === 0x22) inStr = true;
          else if (c === 0x7b || c === 0x5b) depth++;
          else if (c === 0x7d || c === 0x5d) {
            depth--;
            if (depth === 0) {
              end = i + 1;
              break;
            }
          }
        }
        this.depth = depth;
        this.inStr = inStr;
        this.esc = esc;
      }
      const stop = end >= 0 ? end : n;
      this.size += stop - elemFrom;
      if (this.holding && this.size <= this.maxElement) this.parts.push(chunk.subarray(elemFrom, stop));
      else if (this.holding) {
        // Too large: drop what was gathered and skip to the element's end.
        this.holding = false;
        this.parts = [];
      }
      if (end < 0) break;
      out.push({ start: this.start, end: at + end, bytes: this.holding ? concat(this.parts, this.size) : null });
      this.parts = [];
      this.state = "between";
      this.boundary = at + end;
      i = end;
    }
    if (this.state === "between") this.boundary = at + n;
    return out;
  }
}

/**
 * The index of the quote that closes a string, given a position inside it (`esc`: the byte at
 * `from` is escaped), or -1 when the string goes on past the chunk. Message text is most of an
 * export's bytes, so strings are crossed with the native `indexOf` rather than byte by byte: a
 * quote closes the string unless an odd run of backslashes precedes it. Counting that run back
 * from the quote stops at `from`, where the escape state is known.
 */
function stringEnd(chunk: Uint8Array, from: number, esc: boolean): number {
  let i = esc ? from + 1 : from;
  for (;;) {
    const q = chunk.indexOf(0x22, i);
    if (q < 0) return -1;
    let k = q - 1;
    while (k >= i && chunk[k] === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q;
    i = q + 1;
  }
}

/** Whether the byte after the chunk is escaped, for a string that runs past the chunk's end. */
function escapedAtEnd(chunk: Uint8Array, from: number, esc: boolean): boolean {
  const start = esc ? from + 1 : from;
  let k = chunk.length - 1;
  while (k >= start && chunk[k] === 0x5c) k--;
  return (chunk.length - 1 - k) % 2 === 1;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
