/**
 * One bounded slice of an import: from a cursor, read (and inflate) about `sliceBytes` of the
 * conversations JSON, turn every complete conversation in it into canonical form, and return
 * them with the cursor to continue from. Memory stays bounded whatever the export's size; a
 * slice that is retried starts again from the same cursor, so nothing is read twice into the
 * results. Pure: the object is read through the `read` function passed in.
 */
import { canonicalChatGpt } from "./chatgpt.ts";
import { canonicalClaude, isClaudeConversation } from "./claude.ts";
import { type DataLocation, locateData } from "./container.ts";
import { ingestError } from "./errors.ts";
import { type InflateCheckpoint, Inflater, type ReadRange } from "./inflate.ts";
import { MAX_ELEMENT_BYTES } from "./limits.ts";
import { ElementScanner, findArrayStart, type SkipState } from "./scan.ts";
import type { CanonicalConversation, Canonicalized, IngestWarning } from "./types.ts";

export interface IngestCursor {
  loc: DataLocation;
  kind: "chatgpt" | "claude" | null;
  /** Decompressed offset of a safe resume point inside the conversations array. */
  pos: number;
  /** Set when `pos` lies inside a conversation being skipped as too large (absent: between two). */
  skip?: SkipState | null;
  /** Inflater checkpoint at or before `pos` (deflate only; null = from the stream start). */
  cp: InflateCheckpoint | null;
  /** Index of the next array element (for ids of conversations without one). */
  index: number;
  /** Conversations kept so far, elements that looked like conversations so far. */
  kept: number;
  shaped: number;
}

export interface SliceOptions {
  /** Decompressed bytes to consume per slice. @default 16 MiB */
  sliceBytes?: number;
  /** Conversations larger than this many bytes are skipped with a warning. @default MAX_ELEMENT_BYTES */
  maxElementBytes?: number;
  /** ISO upload time: the last fallback for conversation timestamps. */
  fallbackTime: string;
}

export interface SliceResult {
  conversations: CanonicalConversation[];
  warnings: IngestWarning[];
  /** Where to continue, or null when the export is fully read. */
  next: IngestCursor | null;
  /** Share of the upload read so far (0..1), for progress. */
  fraction: number;
  /** Decompressed bytes consumed by this slice. */
  bytes: number;
  format: DataLocation["format"];
  kind: IngestCursor["kind"];
}

const RAW_CHUNK = 4 * 1024 * 1024;

/** Decompressed chunks from a position, for stored and deflated data alike. */
interface ChunkSource {
  next(): Promise<{ bytes: Uint8Array; at: number } | null>;
  checkpointFor(pos: number): InflateCheckpoint | null;
  release(pos: number): void;
  inputPos(): number;
}

function storedSource(read: ReadRange, loc: DataLocation, from: number, chunkBytes: number): ChunkSource {
  let pos = from;
  return {
    async next() {
      const s = loc.start + pos;
      if (s >= loc.end) return null;
      const bytes = await read(s, Math.min(s + chunkBytes, loc.end));
      if (bytes.length === 0) return null;
      const at = pos;
      pos += bytes.length;
      return { bytes, at };
    },
    checkpointFor: () => null,
    release: () => {},
    inputPos: () => loc.start + pos,
  };
}

function deflateSource(
  read: ReadRange,
  loc: DataLocation,
  from: number,
  cp: InflateCheckpoint | null,
  chunkBytes: number,
): ChunkSource {
  const inf = new Inflater(read, loc.start, loc.end, loc.maxExpanded, cp ?? undefined, chunkBytes);
  let skip = from - inf.position; // bytes between the checkpoint and the resume point
  return {
    async next() {
      for (;;) {
        const at = inf.position;
        const bytes = await inf.next();
        if (!bytes) return null;
        if (skip >= bytes.length) {
          skip -= bytes.length;
          continue;
        }
        const out = skip > 0 ? { bytes: bytes.subarray(skip), at: at + skip } : { bytes, at };
        skip = 0;
        return out;
      }
    },
    checkpointFor: (pos) => inf.checkpointAtOrBefore(pos) ?? cp,
    release: (pos) => inf.release(pos),
    inputPos: () => inf.checkpoints.at(-1)?.in ?? cp?.in ?? loc.start,
  };
}

const strict = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

/**
 * Runs one slice. `cursor` null starts the import (format detection included).
 * @throws PipelineError with an EXPORT_* code when the upload cannot be used.
 */
export async function ingestSlice(
  read: ReadRange,
  size: number,
  cursor: IngestCursor | null,
  opts: SliceOptions,
): Promise<SliceResult> {
  const sliceBytes = opts.sliceBytes ?? 16 * 1024 * 1024;
  const maxElement = opts.maxElementBytes ?? MAX_ELEMENT_BYTES;
  const cur: IngestCursor = cursor ??
    { loc: await locateData(read, size), kind: null, pos: -1, cp: null, index: 0, kept: 0, shaped: 0 };
  const { loc } = cur;
  const source = loc.method === "deflate"
    ? deflateSource(read, loc, Math.max(cur.pos, 0), cur.cp, Math.min(1024 * 1024, sliceBytes))
    : storedSource(read, loc, Math.max(cur.pos, 0), Math.min(RAW_CHUNK, sliceBytes));

  let scanner: ElementScanner | null = cur.pos >= 0
    ? new ElementScanner({ pos: cur.pos, skip: cur.skip ?? null }, maxElement)
    : null;
  let startPos = cur.pos;
  let prefix: Uint8Array[] = [], prefixLen = 0;
  const conversations: CanonicalConversation[] = [];
  const warnings: IngestWarning[] = [];
  let consumed = 0, finished = false, exhausted = false;
  let kind = cur.kind, index = cur.index, kept = cur.kept, shaped = cur.shaped;

  const take = (el: { start: number; end: number; bytes: Uint8Array | null }) => {
    const i = index++;
    if (!el.bytes) {
      shaped++; // presumably a conversation: an import of only such is "no conversations", not "wrong shape"
      warnings.push({
        ref: `#${i}`,
        code: "TOO_LARGE",
        message: `conversation #${i} is larger than ${maxElement} bytes (${el.end - el.start}) and was skipped`,
      });
      return;
    }
    let text: string, badUtf8 = false;
    try {
      text = strict.decode(el.bytes);
    } catch {
      // Invalid bytes cost only this conversation's damaged characters (U+FFFD), never the job.
      text = lenient.decode(el.bytes);
      badUtf8 = true;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      warnings.push({
        ref: `#${i}`,
        code: "JSON_INVALID",
        message: `conversation #${i} is not valid JSON and was skipped`,
      });
      return;
    }
    if (kind === null && obj && typeof obj === "object" && !Array.isArray(obj)) {
      kind = isClaudeConversation(obj) ? "claude" : "chatgpt";
    }
    const o = obj as Record<string, unknown> | null;
    if (o && typeof o === "object" && ("mapping" in o || "messages" in o || "chat_messages" in o)) shaped++;
    const r: Canonicalized = kind === "claude"
      ? canonicalClaude(obj, i, opts.fallbackTime)
      : canonicalChatGpt(obj, i, opts.fallbackTime);
    if (badUtf8 && !(r.ok && r.warnings.some((w) => w.code === "INVALID_UTF8"))) {
      const ref = r.ok ? r.conversation.id : r.warning.ref;
      warnings.push({
        ref,
        code: "INVALID_UTF8",
        message: `conversation ${ref} held bytes that are not UTF-8 text; they were replaced by U+FFFD`,
      });
    }
    if (r.ok) {
      conversations.push(r.conversation);
      warnings.push(...r.warnings);
      kept++;
    } else warnings.push(r.warning);
  };

  for (;;) {
    const chunk = await source.next();
    if (!chunk) {
      exhausted = true;
      break;
    }
    consumed += chunk.bytes.length;
    let bytes = chunk.bytes, at = chunk.at;
    if (!scanner) {
      // Still looking for the conversations array: gather the head of the JSON.
      prefix.push(bytes);
      prefixLen += bytes.length;
      const head = prefix.length === 1 ? bytes : new Uint8Array(prefixLen);
      if (prefix.length > 1) {
        let o = 0;
        for (const p of prefix) (head.set(p, o), o += p.length);
      }
      const idx = findArrayStart(head);
      if (idx < 0) {
        if (prefixLen > 8 * 1024 * 1024) {
          throw ingestError("EXPORT_WRONG_SHAPE", "no conversations list near the start of the JSON");
        }
        continue;
      }
      scanner = new ElementScanner({ pos: idx, skip: null }, maxElement);
      startPos = idx;
      bytes = head.subarray(idx);
      at = idx;
      prefix = [];
    }
    for (const el of scanner.push(bytes, at)) take(el);
    source.release(scanner.resumePoint().pos);
    if (scanner.state === "done") {
      finished = true;
      break;
    }
    // A slice ends after `sliceBytes` once its resume point has moved on: a conversation half
    // gathered at that moment is read again by the next slice, one that began this slice is read
    // to its end (at most maxElement). Whitespace and skipped conversations move the point too.
    if (consumed >= sliceBytes && scanner.resumePoint().pos > startPos) break;
  }

  if (!finished && exhausted) {
    // The data ran out inside the array (or before it).
    throw ingestError("EXPORT_TRUNCATED", "the export ends in the middle of the conversations (truncated file?)");
  }
  const format = loc.format;
  if (finished) {
    if (kept === 0) {
      if (shaped === 0) {
        throw ingestError(
          "EXPORT_WRONG_SHAPE",
          "the JSON holds no conversations in ChatGPT or Claude.ai form (expected a list of conversations)",
        );
      }
      throw ingestError(
        "EXPORT_NO_CONVERSATIONS",
        "No conversations found in export file (none could be used: see the import's warnings for why)",
      );
    }
    return { conversations, warnings, next: null, fraction: 1, bytes: consumed, format, kind };
  }
  const { pos, skip } = scanner!.resumePoint();
  const next: IngestCursor = { loc, kind, pos, skip, cp: source.checkpointFor(pos), index, kept, shaped };
  const fraction = Math.min(
    0.99,
    (loc.method === "deflate" ? (next.cp?.in ?? loc.start) : loc.start + pos) / Math.max(size, 1),
  );
  return { conversations, warnings, next, fraction, bytes: consumed, format, kind };
}
