/** Reads of a job's stored conversations (public.raw_conversations, written by ingest). */
import { type MessageAt, type SourceConversation } from "../../processors/extraction-input.ts";
import type { ConversationStats, RenderMessage } from "../../processors/sample.ts";
import { QUICK_WINDOW_MAX_CONVERSATIONS, type WindowOrder, windowOrder } from "../../processors/quick-window.ts";
import type { Conn } from "../db.ts";

export interface StoredConversation {
  conversation_id: string;
  title: string;
  /** ISO-8601 UTC. */
  created_at: string;
  messages: RenderMessage[];
}

/** A keyset range of ids: after `after` (exclusive) up to `upto` (inclusive); null is open. */
export interface KeyRange {
  after: string | null;
  upto: string | null;
}

/** Ranges from the ordered upper bounds of all but the last (open-ended) range. */
export function rangesFromBounds(bounds: string[]): KeyRange[] {
  const out: KeyRange[] = [];
  let prev: string | null = null;
  for (const b of bounds) (out.push({ after: prev, upto: b }), prev = b);
  out.push({ after: prev, upto: null });
  return out;
}

/** The range a fan-out task carries in its payload (`{after, upto}`, as a start task wrote it). */
export function payloadRange(payload: Record<string, unknown>): KeyRange {
  const bound = (v: unknown) => (typeof v === "string" ? v : null);
  return { after: bound(payload.after), upto: bound(payload.upto) };
}

/** A claim of a message text's occurrence: `hash` (a uuid) of the trimmed text, and where it is. */
export interface MessageClaim extends MessageAt {
  hash: string;
}

export interface ConversationStore {
  /** Every conversation's sampling figures. */
  stats(jobId: string): Promise<ConversationStats[]>;
  /**
   * What a sample is drawn from, bounded whatever the export's size: the `limit` eligible
   * conversations (≥ 4 messages) with the best sampling score (processors/sample.ts `score`),
   * best first; when none is eligible, the first 50 in file order (selectSample's fallback).
   */
  sampleCandidates(jobId: string, limit: number): Promise<ConversationStats[]>;
  /** The conversations of `ids`, in that order; ids not stored are left out. */
  load(jobId: string, ids: string[]): Promise<StoredConversation[]>;
  /**
   * Keyset ranges (by conversation id), the last open-ended. A range ends after every `per`-th
   * conversation, and before a conversation where the stored characters (`total_chars`) summed
   * over the ones before it cross a multiple of `maxChars`: a range then holds at most `per`
   * conversations and about `maxChars` characters plus its last conversation's.
   */
  ranges(jobId: string, per: number, maxChars?: number): Promise<KeyRange[]>;
  /**
   * The conversations of a range, by conversation id; with `maxChars`, only those of at most that
   * many stored characters (`total_chars`).
   */
  inRange(jobId: string, range: KeyRange, maxChars?: number): Promise<StoredConversation[]>;
  /** The conversations of more than `chars` stored characters, by conversation id. */
  larger(jobId: string, chars: number): Promise<{ conversation_id: string; total_chars: number }[]>;
  /**
   * The conversations of a range (from `from` on) for fact extraction, by id: every message's
   * role; the whole text of the person's messages (user, and the user-authored system ones); only
   * the last 400 characters of others, with their full length in `chars`. A conversation without
   * messages is left out. One step of a task's reading (extraction-input.ts `readWindow`: while
   * the `user_chars` summed before a conversation is under `budget` and the `total_chars` under
   * `maxChars`); `more` is the first conversation of the range left unread, null when the range
   * was read to its end; `chars` the stored `total_chars` of the conversations read, summed.
   */
  forExtraction(
    jobId: string,
    range: KeyRange & { from: string | null; budget: number; maxChars: number },
  ): Promise<{ conversations: SourceConversation[]; more: string | null; chars: number }>;
  /**
   * Claims for the job the occurrence of each message text in `candidates` (by `hash`, of the
   * trimmed text) unless another is claimed already, and returns each candidate hash's claimed
   * occurrence. Idempotent; of concurrent claims of one hash, one wins. Extraction reads a text
   * only where it is claimed.
   */
  claimFirstMessages(jobId: string, candidates: MessageClaim[]): Promise<Map<string, MessageAt>>;
  /**
   * The quick pass's first window when the job is still ingesting (its quick pass started early),
   * else null: the quick pass then samples every conversation, as at its turn. Conversations come
   * in file order (`ordinal`; slices commit in any order), so the window is the file's beginning
   * as far as it has been read; `imported_at` (a slice's transaction time) tells the slices apart.
   */
  window(jobId: string): Promise<QuickWindow | null>;
}

/** The conversations ingest has read so far, and the order they look to be in. */
export interface QuickWindow {
  /** Sampling statistics, at most QUICK_WINDOW_MAX_CONVERSATIONS. */
  stats: ConversationStats[];
  order: WindowOrder;
}

const iso = (t: string | Date) => new Date(t).toISOString();

/** A raw_conversations row's sampling figures, typed. */
const statsRow = (r: Record<string, unknown>): ConversationStats => ({
  conversation_id: String(r.conversation_id),
  title: String(r.title),
  created_at: iso(r.created_at as string),
  message_count: Number(r.message_count),
  user_message_count: Number(r.user_message_count),
  assistant_message_count: Number(r.assistant_message_count),
  user_chars: Number(r.user_chars),
  total_chars: Number(r.total_chars),
});

export function postgresConversations(conn: Conn): ConversationStore {
  return {
    async stats(jobId) {
      const rows = await conn`select conversation_id, title, created_at, message_count, user_message_count,
                                     assistant_message_count, user_chars, total_chars::float8 as total_chars
                                from public.raw_conversations where job_id = ${jobId}`;
      return rows.map(statsRow);
    },
    async sampleCandidates(jobId, limit) {
      // The score in SQL, so a 300,000-conversation export is not loaded into a function to be sorted.
      const rows = await conn`select conversation_id, title, created_at, message_count, user_message_count,
                                     assistant_message_count, user_chars, total_chars::float8 as total_chars
                                from public.raw_conversations where job_id = ${jobId} and message_count >= 4
                               order by 10 * message_count + user_chars + 20 * least(user_message_count, assistant_message_count)
                                        + extract(epoch from created_at) / 1e12 desc, conversation_id
                               limit ${limit}`;
      if (rows.length) return rows.map(statsRow);
      return (await conn`select conversation_id, title, created_at, message_count, user_message_count,
                                assistant_message_count, user_chars, total_chars::float8 as total_chars
                           from public.raw_conversations where job_id = ${jobId}
                          order by ordinal nulls last, conversation_id limit 50`).map(statsRow);
    },
    async load(jobId, ids) {
      const rows = await conn`select conversation_id, title, created_at, messages from public.raw_conversations
                               where job_id = ${jobId} and conversation_id = any(${ids})`;
      const byId = new Map(rows.map((r) => [String(r.conversation_id), r]));
      return ids.flatMap((id) => {
        const r = byId.get(id);
        return r
          ? [{ conversation_id: id, title: String(r.title), created_at: iso(r.created_at), messages: r.messages }]
          : [];
      });
    },
    async ranges(jobId, per, maxChars = Number.MAX_VALUE) {
      // Each conversation's place on both grids (its count, the characters before it); a range
      // ends where the next conversation's place differs.
      const rows = await conn`
        select id from (
          select id, g, c, lead(g) over (order by id) as next_g, lead(c) over (order by id) as next_c
            from (select conversation_id as id, (row_number() over w - 1) / ${per}::int as g,
                         floor(coalesce(sum(total_chars) over (w rows between unbounded preceding and 1 preceding), 0)
                               / ${maxChars}::float8) as c
                    from public.raw_conversations where job_id = ${jobId}
                  window w as (order by conversation_id)) t) u
         where next_g is not null and (next_g <> g or next_c <> c) order by id`;
      return rangesFromBounds(rows.map((r) => String(r.id)));
    },
    async inRange(jobId, { after, upto }, maxChars = Number.MAX_VALUE) {
      const rows = await conn`select conversation_id, title, created_at, messages from public.raw_conversations
        where job_id = ${jobId} and (${after}::text is null or conversation_id > ${after})
          and (${upto}::text is null or conversation_id <= ${upto}) and total_chars <= ${maxChars}::float8
        order by conversation_id`;
      return rows.map((r) => ({
        conversation_id: String(r.conversation_id),
        title: String(r.title),
        created_at: iso(r.created_at),
        messages: r.messages,
      }));
    },
    async larger(jobId, chars) {
      const rows = await conn`select conversation_id, total_chars::float8 as total_chars from public.raw_conversations
                               where job_id = ${jobId} and total_chars > ${chars}::float8 order by conversation_id`;
      return rows.map((r) => ({ conversation_id: String(r.conversation_id), total_chars: Number(r.total_chars) }));
    },
    async forExtraction(jobId, r) {
      // Each message's fields are read by one parse of the array (json_to_recordset): `->>` on a
      // json value parses the message again for every field it reads, and an assistant's long
      // reply was parsed three times (half of this statement's time).
      // The window by running sums of the stored figures, so that only the conversations read are
      // parsed (the messages of the rest stay compressed in TOAST); the first one past it is found
      // by the same scan.
      const rows = await conn`with rest as (
          select r.conversation_id, r.title, r.created_at, r.messages, r.total_chars,
                 coalesce(sum(r.user_chars) over w, 0) as before, coalesce(sum(r.total_chars) over w, 0) as chars_before
            from public.raw_conversations r
           where r.job_id = ${jobId} and (${r.after}::text is null or r.conversation_id > ${r.after})
             and (${r.upto}::text is null or r.conversation_id <= ${r.upto})
             and (${r.from}::text is null or r.conversation_id >= ${r.from})
          window w as (order by r.conversation_id rows between unbounded preceding and 1 preceding))
        , win as (select * from rest where before < ${r.budget}::float8 and chars_before < ${r.maxChars}::float8)
        select w.conversation_id, w.title, w.created_at,
               json_agg(json_build_object('role', m.role,
                 'text', case when m.role in ('user', 'system') then m.content else right(m.content, 400) end,
                 'chars', length(m.content)) order by m.ord) filter (where m.ord is not null) as messages,
               (select min(conversation_id) from rest
                 where before >= ${r.budget}::float8 or chars_before >= ${r.maxChars}::float8) as more,
               (select sum(total_chars)::float8 from win) as chars
          from win w
          left join lateral rows from (json_to_recordset(w.messages) as (role text, content text))
                    with ordinality as m(role, content, ord) on true
         group by w.conversation_id, w.title, w.created_at order by w.conversation_id`;
      // A row per conversation of the window, with or without messages, so `more` comes back
      // whenever the range has any left; those without messages are then left out.
      const more = rows[0]?.more ?? null;
      return {
        chars: Number(rows[0]?.chars ?? 0),
        conversations: rows.filter((x) => x.messages !== null).map((x) => ({
          id: String(x.conversation_id),
          title: String(x.title),
          date: iso(x.created_at),
          messages: x.messages,
        })),
        more: more === null ? null : String(more),
      };
    },
    async window(jobId) {
      const [job] = await conn`select status from public.processing_jobs where id = ${jobId}`;
      if (job?.status !== "ingest") return null;
      const rows = await conn`select conversation_id, title, created_at, message_count, user_message_count,
                                     assistant_message_count, user_chars, total_chars::float8 as total_chars, imported_at
                                from public.raw_conversations where job_id = ${jobId}
                               order by ordinal nulls last, imported_at, conversation_id
                               limit ${QUICK_WINDOW_MAX_CONVERSATIONS}`;
      return {
        stats: rows.map(statsRow),
        order: windowOrder(rows.map((r) => ({ read_at: iso(r.imported_at), created_at: iso(r.created_at) }))),
      };
    },
    async claimFirstMessages(jobId, candidates) {
      if (!candidates.length) return new Map();
      // In hash order, so two tasks claiming overlapping texts take the rows' locks in one order
      // (no deadlock); a hash given twice goes to its first candidate. The owners are read by a
      // second statement: one whose insert waited on a concurrent claim would not see that claim
      // in its own snapshot. Columns as arrays (one parse each, where a JSON document was parsed
      // twice).
      await conn`insert into private.extract_first_messages (job_id, hash, conversation_id, message_index)
                 select ${jobId}, x.hash, x.conversation, x.index
                   from unnest(${candidates.map((c) => c.hash)}::uuid[], ${
        candidates.map((c) => c.conversation)
      }::text[], ${candidates.map((c) => c.index)}::int[]) with ordinality as x(hash, conversation, index, n)
                  order by x.hash, x.n
                 on conflict (job_id, hash) do nothing`;
      // One primary-key probe per hash, in a function whose plan cannot use sequential scans: the
      // table fills from empty during each import, so its statistics describe it without this
      // job's rows, and the planner scanned the whole table for each hash (88 ms a call, 122 s
      // of database time at 1 GB; 20261208010000_extract_claim_owners.sql).
      const rows = await conn`select hash::text as hash, conversation_id, message_index
                                from private.extract_claim_owners(${jobId}, ${candidates.map((c) => c.hash)}::uuid[])`;
      return new Map(rows.map((r) => [r.hash as string, { conversation: r.conversation_id, index: r.message_index }]));
    },
  };
}
