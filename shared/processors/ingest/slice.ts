/**
 * One bounded slice of an import, in two phases. `scanSlice` reads (and inflates) about
 * `sliceBytes` of the conversations JSON from a cursor and cuts it into the array's elements
 * without parsing them: that is all the next slice needs to start (its cursor), so a slice can
 * hand its successor off before doing the costly part. `parseElements` then turns the
 * elements into canonical conversations and warnings, in batches of any size. `ingestSlice`
 * runs both for one slice, for callers that go sequentially. The end of a slice depends only on
 * its cursor and `sliceBytes`, so a retried slice ends where its first run did. Pure: the
 * object is read through the `read` function passed in.
 */
import type { PipelineError } from "../errors.ts";
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
  /** Index of the next array element (for ids of conversations without one; its ordinal). */
  index: number;
  /**
   * Conversations kept so far, elements that looked like conversations so far: kept by
   * `ingestSlice` only (slices scanned ahead of their predecessors' parsing cannot know them).
   */
  kept?: number;
  shaped?: number;
}

export interface SliceOptions {
  /** Decompressed bytes to consume per slice. @default 16 MiB */
  sliceBytes?: number;
  /** The same for data stored uncompressed (plain JSON, a stored zip entry). @default sliceBytes */
  storedSliceBytes?: number;
  /** Conversations larger than this many bytes are skipped with a warning. @default MAX_ELEMENT_BYTES */
  maxElementBytes?: number;
  /** ISO upload time: the last fallback for conversation timestamps. */
  fallbackTime: string;
}

/** An element of the conversations array, cut out by the scan. */
export interface SliceElement {
  /** Position in the array (0-based): the conversation's ordinal in the export. */
  index: number;
  start: number;
  end: number;
  /** Null when the element is larger than the limit (skipped with a warning). */
  bytes: Uint8Array | null;
}

/** What `scanSlice` found: the slice's elements and where the next slice starts. */
export interface ScannedSlice {
  elements: SliceElement[];
  /** Where to continue, or null when the array ended in this slice. */
  next: IngestCursor | null;
  /** The export's kind, from its first parseable conversation (null: none seen yet). */
  kind: IngestCursor["kind"];
  fraction: number;
  bytes: number;
  format: DataLocation["format"];
}

/** A canonical conversation with its position in the export's array. */
export type OrderedConversation = CanonicalConversation & { ordinal: number };

/** What `parseElements` made of a batch of elements. */
export interface ParsedElements {
  conversations: OrderedConversation[];
  warnings: IngestWarning[];
  /** Conversations kept; elements that looked like conversations (kept or not). */
  kept: number;
  shaped: number;
  kind: IngestCursor["kind"];
}

export interface SliceResult {
  conversations: OrderedConversation[];
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

/** The kind an element's JSON shows (null: not a conversation object, or not JSON). */
function kindOf(bytes: Uint8Array): IngestCursor["kind"] {
  let obj: unknown;
  try {
    obj = JSON.parse(lenient.decode(bytes));
  } catch {
    return null;
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return null;
  return isClaudeConversation(obj) ? "claude" : "chatgpt";
}

/**
 * Scans one slice: from `cursor` (null starts the import, format detection included), reads
 * about `sliceBytes` of decompressed JSON and returns its complete elements, unparsed, with
 * the cursor of the next slice. Fails only on what makes the whole upload unusable.
 * @throws PipelineError with an EXPORT_* code (EXPORT_TRUNCATED, EXPORT_WRONG_SHAPE, archive errors).
 */
export async function scanSlice(
  read: ReadRange,
  size: number,
  cursor: IngestCursor | null,
  opts: Pick<SliceOptions, "sliceBytes" | "storedSliceBytes" | "maxElementBytes">,
): Promise<ScannedSlice> {
  const maxElement = opts.maxElementBytes ?? MAX_ELEMENT_BYTES;
  const cur: IngestCursor = cursor ?? { loc: await locateData(read, size), kind: null, pos: -1, cp: null, index: 0 };
  const { loc } = cur;
  const deflated = opts.sliceBytes ?? 16 * 1024 * 1024;
  const sliceBytes = loc.method === "deflate" ? deflated : opts.storedSliceBytes ?? deflated;
  const source = loc.method === "deflate"
    ? deflateSource(read, loc, Math.max(cur.pos, 0), cur.cp, Math.min(1024 * 1024, sliceBytes))
    : storedSource(read, loc, Math.max(cur.pos, 0), Math.min(RAW_CHUNK, sliceBytes));

  let scanner: ElementScanner | null = cur.pos >= 0
    ? new ElementScanner({ pos: cur.pos, skip: cur.skip ?? null }, maxElement)
    : null;
  let startPos = cur.pos;
  let prefix: Uint8Array[] = [], prefixLen = 0;
  const elements: SliceElement[] = [];
  let consumed = 0, finished = false, exhausted = false;
  let index = cur.index;

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
    for (const el of scanner.push(bytes, at)) elements.push({ index: index++, ...el });
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
  // The kind travels in the cursor, so the next slice knows it before this one is parsed.
  let kind = cur.kind;
  for (let i = 0; kind === null && i < elements.length; i++) {
    const b = elements[i]!.bytes;
    if (b) kind = kindOf(b);
  }
  const format = loc.format;
  if (finished) return { elements, next: null, kind, fraction: 1, bytes: consumed, format };
  const { pos, skip } = scanner!.resumePoint();
  const next: IngestCursor = { loc, kind, pos, skip, cp: source.checkpointFor(pos), index };
  const fraction = Math.min(
    0.99,
    (loc.method === "deflate" ? (next.cp?.in ?? loc.start) : loc.start + pos) / Math.max(size, 1),
  );
  return { elements, next, kind, fraction, bytes: consumed, format };
}

/**
 * Turns scanned elements into canonical conversations (each with its ordinal) and per-conversation
 * warnings. `kind` is the export's kind (from the scan); null takes it from the first object.
 */
export function parseElements(
  elements: readonly SliceElement[],
  kind: IngestCursor["kind"],
  opts: Pick<SliceOptions, "maxElementBytes" | "fallbackTime">,
): ParsedElements {
  const maxElement = opts.maxElementBytes ?? MAX_ELEMENT_BYTES;
  const conversations: OrderedConversation[] = [];
  const warnings: IngestWarning[] = [];
  let kept = 0, shaped = 0;
  for (const el of elements) {
    const i = el.index;
    if (!el.bytes) {
      shaped++; // presumably a conversation: an import of only such is "no conversations", not "wrong shape"
      warnings.push({
        ref: `#${i}`,
        code: "TOO_LARGE",
        message: `conversation #${i} is larger than ${maxElement} bytes (${el.end - el.start}) and was skipped`,
      });
      continue;
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
      continue;
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
      conversations.push({ ...r.conversation, ordinal: i });
      warnings.push(...r.warnings);
      kept++;
    } else warnings.push(r.warning);
  }
  return { conversations, warnings, kept, shaped, kind };
}

/**
 * Why an import that reached the end of its array has nothing to show, or null when it kept a
 * conversation: `kept` and `shaped` are the totals over every slice.
 */
export function emptyImportError(kept: number, shaped: number): PipelineError | null {
  if (kept > 0) return null;
  if (shaped === 0) {
    return ingestError(
      "EXPORT_WRONG_SHAPE",
      "the JSON holds no conversations in ChatGPT or Claude.ai form (expected a list of conversations)",
    );
  }
  return ingestError(
    "EXPORT_NO_CONVERSATIONS",
    "No conversations found in export file (none could be used: see the import's warnings for why)",
  );
}

/**
 * Runs one slice, scan and parse, carrying the kept/shaped totals in the cursor.
 * @throws PipelineError with an EXPORT_* code when the upload cannot be used.
 */
export async function ingestSlice(
  read: ReadRange,
  size: number,
  cursor: IngestCursor | null,
  opts: SliceOptions,
): Promise<SliceResult> {
  const s = await scanSlice(read, size, cursor, opts);
  const p = parseElements(s.elements, s.kind, opts);
  const kept = (cursor?.kept ?? 0) + p.kept, shaped = (cursor?.shaped ?? 0) + p.shaped;
  if (!s.next) {
    const err = emptyImportError(kept, shaped);
    if (err) throw err;
  }
  return {
    conversations: p.conversations,
    warnings: p.warnings,
    next: s.next && { ...s.next, kind: s.next.kind ?? p.kind, kept, shaped },
    fraction: s.fraction,
    bytes: s.bytes,
    format: s.format,
    kind: p.kind,
  };
}
