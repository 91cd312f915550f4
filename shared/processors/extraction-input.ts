/**
 * What a fact-extraction request carries: everything the person wrote, conversation by
 * conversation, compacted only by general rules that are counted:
 * - an exact duplicate of a user message already sent is sent once (`duplicate`);
 * - pasted material (code, logs, markup, tables), recognised by its STRUCTURE (fences,
 *   indentation, symbol density, line shape), becomes a labelled stub such as
 *   `[pasted code, 42 lines]` (`pasted`); prose is never cut, however long;
 * - a phrase repeated verbatim 3+ times in a row is kept once with a count, such as
 *   `[repeated 199 more times]`, when that saves 100+ characters (`repeated`);
 * - assistant turns are not the person's words (`assistant`); the tail of one is sent only as
 *   `<context>` right before a short user reply ("yes, the second one") that needs it.
 * Nothing is dropped for size: a full batch closes and the next one continues where it stopped
 * (`next`), and a message longer than a whole batch is sent in consecutive pieces. A message
 * longer than BLOCK_CHARS is compacted in blocks ({@link messageBlocks}), each by itself, so a
 * batch that starts inside it compacts only the blocks it takes; the cuts of each block are
 * counted with its first piece (in `cut`, a message counts once per block that had such cuts).
 *
 * Request text format (parsed back by {@link parseExtractionInput}):
 *   <conversation id="…" date="YYYY-MM-DD" title="…">
 *   <context>assistant excerpt</context>      (optional, only right before a short user reply)
 *   <user>message text</user>
 *   </conversation>
 * `&`, `<`, `>` (and `"` in attributes) inside data are escaped as entities, so data can't close a tag.
 */
import type { FactSet } from "./schemas.ts";

/** One stored message. For assistant turns `text` may be just the tail and `chars` the full length. */
export interface SourceMessage {
  role: string;
  text: string;
  /** Length of the whole message when `text` holds only part of it. @default text.length */
  chars?: number;
}

export interface SourceConversation {
  id: string;
  title: string;
  /** ISO timestamp or YYYY-MM-DD; null when unknown. */
  date: string | null;
  messages: SourceMessage[];
}

/**
 * Where a batch starts: a message of a conversation, and a character offset into its compacted
 * text (of block `block`, for a message compacted in blocks: {@link messageBlocks}).
 */
export interface Cursor {
  conversation: string;
  message: number;
  offset: number;
  /** The message's block the offset is in; absent for its first (or only) block. */
  block?: number;
}

export type CutReason = "duplicate" | "pasted" | "repeated" | "assistant";

export interface InputStats {
  /** Conversations with at least one block in the batch. */
  conversations: number;
  /** Person-authored messages sent (whole, compacted, or the first piece of a long one). */
  user_messages: number;
  /** Characters of the person's text sent (after compaction, stubs included). */
  user_chars: number;
  /** Pasted blocks replaced by a stub. */
  stubs: number;
  context_excerpts: number;
  context_chars: number;
  /** What was not sent, by reason: messages affected and characters removed. */
  cut: Record<CutReason, { messages: number; chars: number }>;
}

export interface ExtractionBatch {
  /** The `<conversation>` blocks of one request; empty for a last batch that only records cuts. */
  text: string;
  conversationIds: string[];
  /** The person's text sent, per conversation id (for attributing facts back to conversations). */
  userText: Map<string, string[]>;
  stats: InputStats;
  /** Where the next batch starts, or null when this one reached the end of the input. */
  next: Cursor | null;
}

export interface BuildOptions {
  /** Most characters of a batch's text. @default 32000 (≈ 8000 tokens) */
  maxChars?: number;
  /** Message indexes per conversation id known to repeat an earlier message (job-wide dedupe). */
  skip?: Record<string, number[]>;
  /** Where to start. @default the first message of the first conversation */
  start?: Cursor | null;
  /** Stop after this many batches (the last one's `next` says where to go on). @default unlimited */
  maxBatches?: number;
}

/** A user reply this short (after compaction) gets the preceding assistant turn's tail as context. */
export const SHORT_REPLY_CHARS = 80;
/** Most characters of an assistant excerpt. */
export const CONTEXT_CHARS = 160;
export const DEFAULT_MAX_CHARS = 32_000;
/** Smallest piece a long message is cut into when it must share a batch. */
const MIN_PIECE = 200;
const USER_TAGS = "<user></user>".length;

const PERSON_ROLES = new Set(["user", "system"]); // ingest keeps only user-authored system messages

export function escapeData(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
const escapeAttr = (s: string) => escapeData(s).replace(/"/g, "&quot;");
function unescapeData(s: string): string {
  return s.replace(/&(lt|gt|quot|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', amp: "&" })[e]!);
}

// ---------------------------------------------------------------------------------------------
// Pasted material, by structure.

type LineKind = "blank" | "prose" | "code" | "log" | "markup" | "table";
const CODE_SYMBOLS = /[{}[\]<>=;|\\/_$#@*&^%~`+]/g;

/** What one line looks like, from its shape alone. */
export function lineKind(line: string): LineKind {
  const t = line.trim();
  if (!t) return "blank";
  if (/^\|.*\|$/.test(t) || (t.match(/\|/g)?.length ?? 0) >= 3 || (line.match(/\t/g)?.length ?? 0) >= 2) {
    return "table";
  }
  if (/^<\/?[A-Za-z][\w:.-]*(\s[^>]*)?\/?>/.test(t) || /^<(!--|\?|!DOCTYPE)/i.test(t)) return "markup";
  // A date with a time, or a bare time, opening the line: the shape of a log record.
  if (/^\[?\d{4}[-/.]\d{2}[-/.]\d{2}[T ]\d{1,2}:\d{2}|^\[?\d{1,2}:\d{2}:\d{2}/.test(t)) return "log";
  const nonSpace = t.replace(/\s/g, "").length;
  const density = (t.match(CODE_SYMBOLS)?.length ?? 0) / nonSpace;
  const words = t.split(/\s+/);
  // A loop, not Math.max(...): a line of a pasted dump can hold more words than a call's arguments.
  let longestToken = 0;
  for (const w of words) if (w.length > longestToken) longestToken = w.length;
  if (longestToken >= 200) return "code"; // minified data, base64, a hash dump: no prose has such words
  const indented = /^(\t| {4,})\S/.test(line);
  const plainWords = words.filter((w) => /^[\p{L}'’-]+[.,!?:;)]*$/u.test(w)).length;
  if (words.length >= 6 && plainWords / words.length >= 0.8 && density < 0.08) return "prose";
  if (density >= 0.15 && nonSpace >= 4) return "code";
  if (/[;{}]$|^[}\])]/.test(t) && density >= 0.05) return "code";
  if (indented && (density >= 0.05 || words.length <= 6)) return "code";
  return "prose";
}

export interface Compacted {
  text: string;
  /** Characters of pasted material replaced by stubs. */
  cutChars: number;
  stubs: number;
  /** Characters of verbatim repetition left out. */
  repeatChars: number;
}

/**
 * Keeps one copy of a phrase (1 to 12 words) that is repeated verbatim 3 or more times in a
 * row, followed by `[repeated N more times]`, when that leaves out at least 100 characters:
 * the copies say nothing the first one doesn't. Doubled words and short refrains stay.
 */
export function collapseRepeats(text: string): { text: string; cutChars: number } {
  const toks = text.match(/\S+\s*/g) ?? [];
  const key = toks.map((t) => t.trimEnd());
  const same = (a: number, b: number, p: number) => {
    for (let k = 0; k < p; k++) if (key[a + k] !== key[b + k]) return false;
    return true;
  };
  const out: string[] = [];
  let cutChars = 0;
  for (let i = 0; i < toks.length;) {
    let best: { p: number; r: number; removed: number } | null = null;
    for (let p = 1; p <= 12 && i + 3 * p <= toks.length; p++) {
      let r = 1;
      while (i + (r + 1) * p <= toks.length && same(i, i + r * p, p)) r++;
      if (r < 3) continue;
      let removed = 0;
      for (let k = i + p; k < i + r * p; k++) removed += toks[k]!.length;
      if (removed >= 100 && (!best || removed > best.removed)) best = { p, r, removed };
    }
    if (!best) {
      out.push(toks[i++]!);
      continue;
    }
    const end = i + best.r * best.p;
    out.push(...toks.slice(i, i + best.p), `[repeated ${best.r - 1} more times]${toks[end - 1]!.match(/\s*$/)![0]}`);
    cutChars += best.removed;
    i = end;
  }
  return cutChars ? { text: out.join("").trim(), cutChars } : { text, cutChars: 0 };
}

const stub = (kind: string, lines: number) => `[pasted ${kind}, ${lines} line${lines === 1 ? "" : "s"}]`;

function majorityKind(kinds: LineKind[]): string {
  const n = new Map<string, number>();
  for (const k of kinds) if (k !== "blank" && k !== "prose") n.set(k, (n.get(k) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "code";
}

/** A line that opens a fenced block (or, inside one, may close it), with its marker. */
const FENCE_LINE = /^\s*(`{3,}|~{3,})/;

/**
 * The person's message with pasted material replaced by stubs. A fenced block is cut unless
 * its lines are mostly prose (a draft the person wrote stays); an unfenced run is cut when it
 * has at least 3 structured lines (one or two prose lines, e.g. comments, may sit between them),
 * or is one structured line of 300+ characters. Everything else is kept verbatim. `openFence`:
 * the text starts inside a fenced block opened by that marker (a block of a longer message).
 */
export function compactUserText(text: string, openFence: string | null = null): Compacted {
  const lines = text.split("\n");
  const kinds = lines.map(lineKind);
  const out: string[] = [];
  let cutChars = 0, stubs = 0;
  const cut = (from: number, to: number, kind: string, count: number) => {
    cutChars += lines.slice(from, to).join("\n").length;
    stubs++;
    out.push(stub(kind, count));
  };
  /** A fenced block whose content starts at line `from` (its opening line, if in this text, just before); returns the line after it. */
  const fenced = (from: number, marker: string, opened: boolean) => {
    let j = from;
    while (j < lines.length && !lines[j]!.trim().startsWith(marker)) j++;
    const inner = kinds.slice(from, j).filter((k) => k !== "blank");
    const start = opened ? from - 1 : from, end = Math.min(j + 1, lines.length);
    const structured = inner.filter((k) => k !== "prose").length;
    if (inner.length && structured / inner.length < 0.3) {
      for (let k = start; k < end; k++) out.push(lines[k]!); // fenced prose: the person's own draft, kept
    } else cut(start, end, majorityKind(inner), j - from);
    return end;
  };
  let i = openFence ? fenced(0, openFence, false) : 0;
  while (i < lines.length) {
    const fence = lines[i]!.match(FENCE_LINE);
    if (fence) {
      i = fenced(i + 1, fence[1]!, true);
      continue;
    }
    if (kinds[i] === "blank" || kinds[i] === "prose") {
      out.push(lines[i]!);
      i++;
      continue;
    }
    // A run of structured lines, allowing blank lines and at most two prose lines in a row between them.
    let j = i, last = i, gap = 0;
    while (j < lines.length && !FENCE_LINE.test(lines[j]!)) {
      const k = kinds[j]!;
      if (k === "prose") {
        if (++gap > 2) break;
      } else if (k !== "blank") (gap = 0, last = j);
      j++;
    }
    const run = kinds.slice(i, last + 1);
    const structured = run.filter((k) => k !== "blank" && k !== "prose").length;
    if (structured >= 3 || (structured === 1 && last === i && lines[i]!.trim().length >= 300)) {
      cut(i, last + 1, majorityKind(run), last + 1 - i);
    } else for (let k = i; k <= last; k++) out.push(lines[k]!);
    i = last + 1;
  }
  const r = collapseRepeats(out.join("\n").trim());
  return { text: r.text, cutChars, stubs, repeatChars: r.cutChars };
}

/**
 * Characters of a message compacted at once. Compaction costs ~0.25 us a character (a 15 MB
 * message took 3.3–4.1 s of CPU), and each extract task that sends part of a message must compact
 * the part it sends: a longer message is compacted in blocks of at most this size
 * ({@link messageBlocks}), so a task's compaction stays ~60 ms whatever the message's size.
 */
export const BLOCK_CHARS = 256_000;

/** A block of a long message: `text.slice(start, end)`, starting inside a fenced block opened by `fence` when set. */
export interface MessageBlock {
  start: number;
  end: number;
  fence: string | null;
}

/** Leading whitespace of a line (not crossing its end), as `String.trim` removes it. */
const LEADING = /[^\S\n]*/y;
/** A fence marker opening the line at lastIndex, as {@link FENCE_LINE} matches it on the line alone. */
const FENCE_AT = /[^\S\n]*(`{3,}|~{3,})/y;

/** Whether a fenced block is open after the line starting at `at`, given `fence` before it (compactUserText's rule). */
function fenceAfter(text: string, at: number, fence: string | null): string | null {
  if (fence) {
    LEADING.lastIndex = at;
    LEADING.test(text);
    return text.startsWith(fence, LEADING.lastIndex) ? null : fence;
  }
  FENCE_AT.lastIndex = at;
  return FENCE_AT.exec(text)?.[1] ?? null;
}

/**
 * Cuts a message into blocks of at most `size` characters, each compacted by itself: one block
 * when it is no longer. A block ends at the start of a line in the second half of its window:
 * preferably a paragraph's (after a blank line) outside fenced blocks, so a paste or a run of
 * log lines is seen whole where it fits; else any line's outside fenced blocks; else any line's;
 * else at the last space there, within a line; else at `size` (never between a surrogate pair).
 * A block starting inside a fenced block carries its marker, as compaction of the whole text
 * would have seen it. Deterministic, so a task resuming at block N finds the same blocks; one
 * pass over the text.
 */
export function messageBlocks(text: string, size = BLOCK_CHARS): MessageBlock[] {
  if (text.length <= size) return [{ start: 0, end: text.length, fence: null }];
  const blocks: MessageBlock[] = [];
  let start = 0, startFence: string | null = null;
  // Where the block may end, best first (the last such line start in the window's second half).
  let paraCut = -1, closedCut = -1, anyCut = -1, anyFence: string | null = null;
  let fence: string | null = null, eol = -1, prevBlank = false;
  for (let pos = 0; text.length - start > size;) {
    // `pos` starts a line (or the rest of one cut within), with `fence` open before it.
    if (eol < pos) eol = (text.indexOf("\n", pos) + 1 || text.length + 1) - 1;
    const next = eol + 1;
    if (pos > start + size / 2) {
      (anyCut = pos, anyFence = fence);
      if (fence === null) (closedCut = pos, prevBlank && (paraCut = pos));
    }
    const after = fenceAfter(text, pos, fence);
    if (next <= start + size) {
      LEADING.lastIndex = pos;
      LEADING.test(text);
      (prevBlank = LEADING.lastIndex >= eol, pos = next, fence = after);
      continue;
    }
    let cut: number, cutFence: string | null = null;
    if (paraCut > 0 || closedCut > 0) cut = paraCut > 0 ? paraCut : closedCut;
    else if (anyCut > 0) (cut = anyCut, cutFence = anyFence);
    else {
      // No line starts in the window's second half: cut this line, at a space if one is there.
      const sp = text.lastIndexOf(" ", start + size - 1);
      cut = sp >= Math.max(pos, start + size / 2) ? sp + 1 : start + size;
      const c = text.charCodeAt(cut - 1);
      if (cut === start + size && c >= 0xd800 && c <= 0xdbff) cut--;
      cutFence = after;
    }
    blocks.push({ start, end: cut, fence: startFence });
    if (cut < pos) eol = -1; // back to an earlier line start: its line end is found again
    (start = cut, startFence = cutFence, pos = cut, fence = cutFence, prevBlank = false);
    (paraCut = -1, closedCut = -1, anyCut = -1);
  }
  blocks.push({ start, end: text.length, fence: startFence });
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// Batches.

const emptyStats = (): InputStats => ({
  conversations: 0,
  user_messages: 0,
  user_chars: 0,
  stubs: 0,
  context_excerpts: 0,
  context_chars: 0,
  cut: {
    duplicate: { messages: 0, chars: 0 },
    pasted: { messages: 0, chars: 0 },
    repeated: { messages: 0, chars: 0 },
    assistant: { messages: 0, chars: 0 },
  },
});

const hasCuts = (s: InputStats) => Object.values(s.cut).some((c) => c.messages > 0);

/** Sums stats (for a job's total). */
export function addStats(a: InputStats, b: InputStats): InputStats {
  const s = emptyStats();
  for (
    const k of ["conversations", "user_messages", "user_chars", "stubs", "context_excerpts", "context_chars"] as const
  ) {
    s[k] = a[k] + b[k];
  }
  for (const r of ["duplicate", "pasted", "repeated", "assistant"] as const) {
    s.cut[r] = { messages: a.cut[r].messages + b.cut[r].messages, chars: a.cut[r].chars + b.cut[r].chars };
  }
  return s;
}

/** The last words of an assistant turn (where the question a short reply answers usually is). */
function excerpt(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  if (t.length <= CONTEXT_CHARS) return t;
  const tail = t.slice(-CONTEXT_CHARS);
  const sp = tail.indexOf(" ");
  return `…${sp >= 0 && sp < 40 ? tail.slice(sp + 1) : tail}`;
}

const isoDay = (d: string | null) => {
  const t = d ? new Date(d) : null;
  return t && !Number.isNaN(t.getTime()) ? t.toISOString().slice(0, 10) : "unknown";
};

/** The longest prefix of `raw` from `offset` whose escaped form fits `budget`, ending at a space when one is near. */
function piece(raw: string, offset: number, budget: number): number {
  let end = Math.min(raw.length, offset + budget);
  while (end > offset + 1 && escapeData(raw.slice(offset, end)).length > budget) {
    end -= Math.max(1, escapeData(raw.slice(offset, end)).length - budget);
  }
  if (end < raw.length) {
    const sp = raw.lastIndexOf(" ", end);
    if (sp > offset + (end - offset) * 0.8) end = sp + 1;
  }
  return Math.max(end, offset + 1);
}

/**
 * Request texts for conversations, in order, each at most `maxChars` (unless one block's fixed
 * part alone is larger). Deterministic: the same input and start give the same batches, so a
 * batch can be rebuilt from its cursor.
 */
export function buildExtractionBatches(convs: SourceConversation[], o: BuildOptions = {}): ExtractionBatch[] {
  const maxChars = o.maxChars ?? DEFAULT_MAX_CHARS;
  const maxBatches = o.maxBatches ?? Infinity;
  const batches: ExtractionBatch[] = [];
  const seen = new Set<string>();
  const compacted = new Map<string, Compacted>();
  const compact = (t: string) => {
    let c = compacted.get(t);
    if (!c) compacted.set(t, c = compactUserText(t));
    return c;
  };
  let parts: string[] = [], size = 0, stats = emptyStats(), ids: string[] = [];
  let userText = new Map<string, string[]>();
  let openConv: string | null = null;
  let footer = "";
  const close = () => {
    if (openConv !== null) (parts.push(footer), size += footer.length + 1, openConv = null);
  };
  /** Ends the current batch; false when no more batches may be made (the caller stops at `next`). */
  const finish = (next: Cursor | null): boolean => {
    close();
    // An empty batch is kept only to carry what was cut (say, a range of repeated messages).
    if (!parts.length && (next || !hasCuts(stats))) return true;
    batches.push({ text: parts.join("\n"), conversationIds: ids, userText, stats, next });
    parts = [], size = 0, stats = emptyStats(), ids = [], userText = new Map();
    return batches.length < maxBatches;
  };

  let ci = o.start ? convs.findIndex((c) => c.id === o.start!.conversation) : 0;
  if (ci < 0) ci = convs.findIndex((c) => c.id > o.start!.conversation);
  if (ci < 0) return [];
  for (; ci < convs.length; ci++) {
    const c = convs[ci]!;
    const skip = new Set(o.skip?.[c.id] ?? []);
    const header = `<conversation id="${escapeAttr(c.id)}" date="${isoDay(c.date)}" title="${
      escapeAttr(c.title.replace(/\s+/g, " ").trim().slice(0, 200))
    }">`;
    footer = "</conversation>";
    const resume = o.start && c.id === o.start.conversation ? o.start : null;
    // Whether the message at index i is a short reply (sent, and compacted to SHORT_REPLY_CHARS
    // or fewer). A message compacted in blocks is long by any measure: it is not compacted here.
    const shortReply = (i: number): boolean => {
      const m = c.messages[i];
      if (!m || !PERSON_ROLES.has(m.role)) return false;
      const t = m.text.trim();
      if (!t || t.length > BLOCK_CHARS || skip.has(i) || seen.has(t)) return false;
      const n = compact(t).text.length;
      return n > 0 && n <= SHORT_REPLY_CHARS;
    };
    for (let mi = resume?.message ?? 0; mi < c.messages.length; mi++) {
      const m = c.messages[mi]!;
      const raw = m.text.trim();
      const at = resume && mi === resume.message ? resume : null;
      const first = !(at && (at.offset > 0 || (at.block ?? 0) > 0));
      if (!PERSON_ROLES.has(m.role)) {
        const ctx = shortReply(mi + 1) ? excerpt(m.text).length : 0;
        stats.cut.assistant.messages++;
        stats.cut.assistant.chars += Math.max(0, (m.chars ?? m.text.length) - ctx);
        continue;
      }
      if (!raw) continue;
      if (first && (skip.has(mi) || seen.has(raw))) {
        stats.cut.duplicate.messages++;
        stats.cut.duplicate.chars += raw.length;
        continue;
      }
      seen.add(raw);
      const blocks = messageBlocks(raw);
      const prev = c.messages[mi - 1];
      let counted = !first;
      const startBlock = first ? 0 : at!.block ?? 0;
      for (let bi = startBlock; bi < blocks.length; bi++) {
        const b = blocks[bi]!;
        const k = blocks.length === 1 ? compact(raw) : compactUserText(raw.slice(b.start, b.end), b.fence);
        if (!k.text) continue;
        const ctx = first && blocks.length === 1 && k.text.length <= SHORT_REPLY_CHARS && prev &&
            !PERSON_ROLES.has(prev.role) && prev.text.trim()
          ? `<context>${escapeData(excerpt(prev.text))}</context>`
          : null;
        let offset = bi === startBlock && !first ? at!.offset : 0;
        // A block's cuts are counted with its first piece (a continuation starting within it has them counted).
        let blockCounted = offset > 0;
        const cursor = (offset: number): Cursor => ({
          conversation: c.id,
          message: mi,
          offset,
          ...(bi ? { block: bi } : {}),
        });
        while (offset < k.text.length) {
          const ctxLen = ctx && offset === 0 ? ctx.length + 1 : 0;
          const tail = footer.length + 1 + ctxLen + USER_TAGS + 1;
          const fixed = (openConv === c.id ? 0 : header.length + 1) + tail;
          const rest = escapeData(k.text.slice(offset)).length;
          const room = maxChars - size - fixed;
          if (rest > room && parts.length && (header.length + 1 + tail + rest <= maxChars || room < MIN_PIECE)) {
            // Full: this batch ends here and the next one starts at this message (block and offset).
            if (!finish(cursor(offset))) return batches;
            continue;
          }
          const end = rest <= room ? k.text.length : piece(k.text, offset, Math.max(MIN_PIECE, room));
          if (openConv !== c.id) {
            close();
            parts.push(header), size += header.length + 1, openConv = c.id;
            if (!ids.includes(c.id)) (ids.push(c.id), stats.conversations++);
          }
          if (ctx && offset === 0) {
            parts.push(ctx), size += ctx.length + 1;
            stats.context_excerpts++;
            stats.context_chars += ctx.length - "<context></context>".length;
          }
          const t = k.text.slice(offset, end);
          const block = `<user>${escapeData(t)}</user>`;
          parts.push(block), size += block.length + 1;
          stats.user_chars += t.length;
          if (!counted) (counted = true, stats.user_messages++);
          if (!blockCounted) {
            blockCounted = true;
            if (k.stubs) {
              stats.stubs += k.stubs;
              stats.cut.pasted.messages++;
              stats.cut.pasted.chars += k.cutChars;
            }
            if (k.repeatChars) {
              stats.cut.repeated.messages++;
              stats.cut.repeated.chars += k.repeatChars;
            }
          }
          userText.set(c.id, [...(userText.get(c.id) ?? []), t]);
          offset = end;
          if (offset < k.text.length && !finish(cursor(offset))) return batches;
        }
      }
    }
    close();
  }
  finish(null);
  return batches;
}

// ---------------------------------------------------------------------------------------------
// How the extract stage packs a job's input into tasks and requests.

/**
 * Conversations per extract task (by conversation id); a task's continuations go on within its
 * range. A range's last request is only as full as what is left of it, so longer ranges fill
 * requests better, while each continuation reads again what its predecessor read past where its
 * request stopped. On generated exports of 2,000 and 8,000 conversations, ranges of 50 / 100 /
 * 200 filled requests to 73 / 79 / 91 % and 57 / 74 / 83 % (56 / 52 / 45 and 180 / 138 / 124
 * requests, against 42 and 103 if packed full) and read each conversation 1.1 / 1.6 / 2.6 and
 * 1.0 / 1.2 / 1.8 times (measured before the read window, which only lowers the reading): 100
 * takes most of the saving in model calls for little more reading.
 */
export const CONVERSATIONS_PER_TASK = 100;
/** Characters of conversation data per extraction request (≈ 8,000 tokens). */
export const MAX_REQUEST_CHARS = DEFAULT_MAX_CHARS;
/**
 * How an extract task reads its range: in steps of conversations, each step while the stored
 * `user_chars` (the person's characters, each message counted up to 500) summed before a
 * conversation is under the step's budget, until its one request is full, the range is read to
 * its end, or it has read READ_LIMIT_CHARS stored characters (`total_chars`). Its continuation
 * starts where the request stopped, so what a task reads past that is read again by the next one.
 *
 * A single window of four requests' worth (the earlier rule) left room for what the request cuts
 * (repeats, pasted material) but, where the person writes long messages (counted 500 each), held
 * several requests: a 108 MB export with long user turns read each conversation 8.3 times over
 * (387 tasks read 9,198 conversations; 26 s of the database's CPU, the conversations' JSON parsed
 * again each time). The first step is a quarter of a request's worth; each further one is sized
 * by what the steps so far turned into request text ({@link nextStep}), so a task reads little
 * past its request whether the person's messages are long, short or mostly cut. The same
 * 108 MB export then reads 1.5 conversations per one sent.
 */
export const READ_STEP_CHARS = MAX_REQUEST_CHARS / 4;
/** The smallest further step (a conversation is always read whole, so a step may overshoot). */
export const MIN_STEP_CHARS = MAX_REQUEST_CHARS / 16;
/**
 * Stored characters (messages whole, assistant replies included) a task reads at most, its
 * request then sent as it is: the bound on one invocation's reading when the request fills
 * slowly (a range mostly of repeats, or of long conversations where the person wrote little).
 * A task always reads at least one conversation.
 */
export const READ_LIMIT_CHARS = 2_000_000;

/** A conversation's stored figures as extract's reading weighs them. */
export interface StoredFigures {
  user_chars: number;
  total_chars: number;
}

/** The stored `user_chars` of a conversation as extract reads it (sample.ts `messageFigures`'s rule). */
export const userCharsOf = (c: SourceConversation) =>
  c.messages.reduce((n, m) => n + (m.role === "user" ? Math.min(m.chars ?? m.text.length, 500) : 0), 0);

/** The stored `total_chars` of a conversation as extract reads it (every message's full length). */
export const totalCharsOf = (c: SourceConversation) => c.messages.reduce((n, m) => n + (m.chars ?? m.text.length), 0);

/**
 * One step of a task's reading of `convs` (the rest of its range, in id order): the
 * conversations while the `user_chars` summed before each is under `budget` and the
 * `total_chars` summed before each is under `maxChars` (what is left of the task's
 * READ_LIMIT_CHARS), at least one; and the first one left for later.
 */
export function readWindow<T>(
  convs: T[],
  figures: (c: T) => StoredFigures,
  budget = READ_STEP_CHARS,
  maxChars = READ_LIMIT_CHARS,
): { read: T[]; more: T | null } {
  let user = 0, total = 0, i = 0;
  for (; i < convs.length && user < budget && total < maxChars; i++) {
    const f = figures(convs[i]!);
    (user += f.user_chars, total += f.total_chars);
  }
  return { read: convs.slice(0, i), more: convs[i] ?? null };
}

/**
 * The person's characters in `convs` as the stored `user_chars` counts them, from cursor `from`
 * on: a continuation's first conversation counts only the messages its request can still take.
 */
export function userCharsFrom(convs: SourceConversation[], from: Cursor | null): number {
  let n = 0;
  for (const c of convs) {
    n += c.id === from?.conversation ? userCharsOf({ ...c, messages: c.messages.slice(from.message) }) : userCharsOf(c);
  }
  return n;
}

/**
 * The budget of a task's next reading step, or 0 when it reads no further: its request is full
 * (it stopped at a cursor), the range has no more (`more` null), or the task has read
 * READ_LIMIT_CHARS stored characters (`readChars`). Otherwise the room left in the request, in
 * the stored figure at the rate the task's reading so far (`readUser`: {@link userCharsFrom})
 * became request text, with a quarter more for margin; twice what was read when none of it
 * became text (all repeats or empty).
 */
export function nextStep(batch: ExtractionBatch | null, more: unknown, readUser: number, readChars: number): number {
  if (batch?.next || more === null || readChars >= READ_LIMIT_CHARS) return 0;
  const sent = batch?.text.length ?? 0;
  if (!sent) return Math.max(MIN_STEP_CHARS, 2 * readUser);
  const room = Math.max(0, MAX_REQUEST_CHARS - sent);
  return Math.max(MIN_STEP_CHARS, Math.ceil(1.25 * room * readUser / sent));
}

/** One step's read, as the store returns it: the conversations (in id order), the first left unread, their stored characters. */
export interface ReadStep {
  conversations: SourceConversation[];
  more: string | null;
  chars: number;
}

/**
 * A task's reading of its range in steps ({@link readWindow}, {@link nextStep}), shared by the
 * extract handler (each step a database read) and {@link extractionPlan} (the same steps over
 * the conversations in hand), so the plan counts exactly the requests the tasks send. `step()`
 * says where the next read starts and how far it may go, null once the task reads no further;
 * `add()` takes what that read returned and rebuilds the task's one request.
 */
export class RangeReading {
  readonly convs: SourceConversation[] = [];
  batch: ExtractionBatch | null = null;
  /** The first conversation not read yet (null: the range is read to its end, once a step is done). */
  more: string | null;
  private budget = READ_STEP_CHARS;
  private chars = 0;

  constructor(readonly from: Cursor | null) {
    this.more = from?.conversation ?? null;
  }

  step(): { from: string | null; budget: number; maxChars: number } | null {
    return this.budget > 0 ? { from: this.more, budget: this.budget, maxChars: READ_LIMIT_CHARS - this.chars } : null;
  }

  /** Adds a step's read; `skip` is the job-wide skip list for everything read so far. */
  add(read: ReadStep, skip: Record<string, number[]>): void {
    this.convs.push(...read.conversations);
    this.more = read.more;
    this.chars += read.chars;
    this.batch = taskBatch(this.convs, skip, this.from);
    this.budget = nextStep(this.batch, this.more, userCharsFrom(this.convs, this.from), this.chars);
  }
}

/**
 * Where a task's continuation starts: where its request stopped, else at the first conversation
 * it did not read (`more`), else nowhere (its range is done).
 */
export function continuation(batch: ExtractionBatch | null, more: string | null): Cursor | null {
  return batch?.next ?? (more === null ? null : { conversation: more, message: 0, offset: 0 });
}

/**
 * The one request an extract task sends: the first batch of its range's conversations from
 * `from` (null: the range's start), or null when nothing is left. A batch with empty text only
 * records cuts; the task then asks nothing and its range is done.
 */
export function taskBatch(
  convs: SourceConversation[],
  skip: Record<string, number[]>,
  from: Cursor | null,
): ExtractionBatch | null {
  return buildExtractionBatches(convs, { maxChars: MAX_REQUEST_CHARS, skip, start: from, maxBatches: 1 })[0] ?? null;
}

/** Orders ids as the database does (C collation: by code point), so ranges match the store's. */
export function compareIds(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

/**
 * The person's messages that repeat an earlier one of the job word for word (surrounding
 * whitespace ignored), in conversation-id then message order, the first occurrence not listed:
 * conversation id -> message indexes. What the extract tasks' claims come to when the ranges run
 * in id order (extractionPlan counts requests with it).
 */
export function repeatedUserMessages(convs: SourceConversation[]): Record<string, number[]> {
  return skipUnlessKept(convs, new Map());
}

/** Where a message is: its conversation's id and its index there. */
export interface MessageAt {
  conversation: string;
  index: number;
}

/**
 * Each distinct text the person wrote in `convs` (trimmed; empty ones left out) with its first
 * occurrence, in conversation-id then message order: what an extract task claims for its job.
 */
export function firstPersonMessages(convs: SourceConversation[]): Map<string, MessageAt> {
  const out = new Map<string, MessageAt>();
  for (const c of [...convs].sort((a, b) => compareIds(a.id, b.id))) {
    c.messages.forEach((m, index) => {
      const t = m.text.trim();
      if (PERSON_ROLES.has(m.role) && t && !out.has(t)) out.set(t, { conversation: c.id, index });
    });
  }
  return out;
}

/**
 * The skip list of `convs` (conversation id -> message indexes) when each text is kept where
 * `kept` says: every person message that is not its text's kept occurrence. A text `kept` does
 * not know is kept where it first occurs in `convs` (`firsts`, when the caller has them already).
 */
export function skipUnlessKept(
  convs: SourceConversation[],
  kept: Map<string, MessageAt>,
  firsts: Map<string, MessageAt> = firstPersonMessages(convs),
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const c of convs) {
    c.messages.forEach((m, index) => {
      const t = m.text.trim();
      if (!PERSON_ROLES.has(m.role) || !t) return;
      const at = kept.get(t) ?? firsts.get(t)!;
      if (at.conversation !== c.id || at.index !== index) (out[c.id] ??= []).push(index);
    });
  }
  return out;
}

export interface ExtractionPlan {
  /** Task runs besides the start task: one per range (the last one open-ended, maybe empty), one per continuation. */
  tasks: number;
  /** The requests those tasks send, in order (each a batch with text). */
  requests: ExtractionBatch[];
  /** Conversations read, summed over the tasks (each counted once per task that reads it). */
  reads: number;
}

/**
 * Every request the extract stage sends for a job's conversations, found the way its tasks find
 * them: ranges of CONVERSATIONS_PER_TASK by id, job-wide repeats skipped, then each range's chain
 * of tasks, each reading steps ({@link readWindow}, {@link nextStep}; `figures`: the stored ones)
 * and sending {@link taskBatch} from where the previous one stopped.
 */
export function extractionPlan(
  convs: SourceConversation[],
  figures: (c: SourceConversation) => StoredFigures = (c) => ({
    user_chars: userCharsOf(c),
    total_chars: totalCharsOf(c),
  }),
): ExtractionPlan {
  const sorted = convs.filter((c) => c.messages.length).sort((a, b) => compareIds(a.id, b.id));
  const skip = repeatedUserMessages(sorted);
  const requests: ExtractionBatch[] = [];
  let tasks = 0, reads = 0;
  // `<=`: like the store's ranges, a count that is a multiple of the range size ends with an empty one.
  for (let r = 0; r <= sorted.length; r += CONVERSATIONS_PER_TASK) {
    const range = sorted.slice(r, r + CONVERSATIONS_PER_TASK);
    for (let from: Cursor | null = null;;) {
      tasks++;
      const reading = new RangeReading(from);
      for (let s = reading.step(); s; s = reading.step()) {
        const at = s.from;
        const rest = at === null ? range : range.filter((c) => compareIds(c.id, at) >= 0);
        const w = readWindow(rest, figures, s.budget, s.maxChars);
        const chars = w.read.reduce((n, c) => n + figures(c).total_chars, 0);
        reading.add({ conversations: w.read, more: w.more?.id ?? null, chars }, skip);
      }
      const batch = reading.batch;
      reads += reading.convs.length;
      if (batch?.text) requests.push(batch);
      if (!(from = continuation(batch, reading.more))) break;
    }
  }
  return { tasks, requests, reads };
}

// ---------------------------------------------------------------------------------------------
// Parsing (the offline analyser reads requests back through this).

export interface ParsedConversation {
  conversationId: string;
  /** YYYY-MM-DD, or null when unknown. */
  date: string | null;
  title: string;
  messages: { role: "user" | "context"; text: string }[];
}

/** The conversations of a request text built by {@link buildExtractionBatches}; anything else in it is ignored. */
export function parseExtractionInput(text: string): ParsedConversation[] {
  const out: ParsedConversation[] = [];
  const conv = /<conversation\s+([^>]*)>([\s\S]*?)<\/conversation>/g;
  for (const m of text.matchAll(conv)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/(\w+)="([^"]*)"/g)) attrs[a[1]!] = unescapeData(a[2]!);
    const messages: ParsedConversation["messages"] = [];
    for (const b of m[2]!.matchAll(/<(user|context)>([\s\S]*?)<\/\1>/g)) {
      messages.push({ role: b[1] as "user" | "context", text: unescapeData(b[2]!) });
    }
    out.push({
      conversationId: attrs.id ?? "",
      date: /^\d{4}-\d{2}-\d{2}$/.test(attrs.date ?? "") ? attrs.date! : null,
      title: attrs.title ?? "",
      messages,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Provenance.

const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []);

/**
 * Splits one fact set into per-key fact sets (keys: conversation ids) by word overlap with the
 * text sent for each key; ties go to the first key. Every fact lands somewhere.
 */
export function attributeFacts(facts: FactSet, textByKey: Map<string, string[]>): Map<string, FactSet> {
  const keyWords = [...textByKey].map(([id, ss]) => ({ id, w: words(ss.join(" ")) }));
  const out = new Map<string, FactSet>();
  if (!keyWords.length) return out;
  for (const cat of Object.keys(facts) as (keyof FactSet)[]) {
    for (const f of facts[cat] as unknown[]) {
      const fw = words(typeof f === "string" ? f : JSON.stringify(f));
      let best = keyWords[0]!, bestScore = -1;
      for (const c of keyWords) {
        let n = 0;
        for (const w of fw) if (c.w.has(w)) n++;
        if (n > bestScore) (best = c, bestScore = n);
      }
      const set = out.get(best.id) ?? { preferences: [], projects: [], dates: [], beliefs: [], decisions: [] };
      (set[cat] as unknown[]).push(f);
      out.set(best.id, set);
    }
  }
  return out;
}
