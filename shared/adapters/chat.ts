/**
 * Retrieval and persistence for the query and chat functions. Every read, and every write of the
 * person's own, runs as the calling user (role authenticated + JWT claims, exactly as PostgREST
 * would), so RLS and auth.uid() decide what is visible: a user can only ever reach their own
 * chunks and chats. The companion's replies are the one write users may not make themselves;
 * they go through the function's own connection (saveAssistantMessage).
 */
import type { UserVerifier } from "./auth.ts";
import type { Db } from "./db.ts";
import type { Embedder } from "./embedder.ts";
import type { LlmProvider } from "./llm/types.ts";
import type { Tx } from "./tasks.ts";
import type { UserLimiter } from "./user-limits.ts";
import type { Sections } from "../processors/schemas.ts";
import type { RetrievedChunk } from "../processors/chat-prompt.ts";
import { keywordQuery } from "../processors/chat-prompt.ts";
import type { CorsConfig } from "./config.ts";

/** What the user-facing functions (query, chat) are built with. */
export interface CompanionDeps {
  db: Db;
  llm: LlmProvider;
  embedder: Embedder;
  /** Verifies the caller's JWT (signature, exp, aud, role). */
  auth: UserVerifier;
  /** Per-user request limits. */
  limits: UserLimiter;
  /** Browser origins allowed to call (@default any origin). */
  cors?: CorsConfig;
  now?: () => Date;
}

export interface UserContext {
  sections: Sections | null;
  memoryMd: string | null;
  soulprintText: string | null;
  aiName: string;
  chunks: RetrievedChunk[];
  method: "hybrid" | "keyword" | "none";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs `fn` in a transaction as the user. Role and claims are set in one statement, as PostgREST
 * does; it carries no bind parameters (the id is checked to be a UUID first) because with
 * prepared statements off (transaction pooler) every parameterised statement costs a second
 * round trip to describe its parameters.
 */
export function asUser<T>(db: Db, userId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (!UUID.test(userId)) throw new Error(`asUser: ${JSON.stringify(userId)} is not a user id`);
  const claims = JSON.stringify({ sub: userId.toLowerCase(), role: "authenticated" });
  return db.begin(async (tx) => {
    await tx.unsafe(
      `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '${claims}', true)`,
    );
    return await fn(tx);
  }) as Promise<T>;
}

/** Profile plus the chunks that best match `message` (hybrid; keyword-only if embedding fails). */
export async function retrieve(
  db: Db,
  embedder: Embedder,
  userId: string,
  message: string,
  count = 8,
): Promise<UserContext> {
  let vector: number[] | null = null;
  try {
    vector = (await embedder.embed([message.slice(0, 8000)], Date.now() + 15_000)).vectors[0] ?? null;
  } catch (err) {
    console.error(JSON.stringify({ event: "chat.embedding_failed", error: String(err).slice(0, 200) }));
  }
  return await asUser(db, userId, async (tx) => {
    // One statement for the profile and the chunks: a chat turn's database cost is round trips.
    const [r] = await tx`select
        (select row_to_json(p) from (select sections, memory_md, soulprint_text, ai_name
                                       from public.user_profiles where user_id = auth.uid()) p) as profile,
        coalesce((select json_agg(h order by h.n) from (select id, title, content, created_at, rrf_score, n
          from public.hybrid_search_chunks(${keywordQuery(message)}, ${
      vector ? JSON.stringify(vector) : null
    }::extensions.vector, ${count})
          with ordinality as s(id, conversation_id, title, content, created_at, rrf_score, method, n)) h), '[]') as chunks`;
    const p = r!.profile as
      | { sections: Sections | null; memory_md: string | null; soulprint_text: string | null; ai_name: string | null }
      | null;
    const rows = r!.chunks as Array<
      { id: string; title: string; content: string; created_at: string; rrf_score: number }
    >;
    return {
      sections: p?.sections ?? null,
      memoryMd: p?.memory_md ?? null,
      soulprintText: p?.soulprint_text ?? null,
      aiName: p?.ai_name ?? "Nova",
      chunks: rows.map((r) => ({
        id: r.id,
        title: r.title,
        content: r.content,
        created_at: new Date(r.created_at).toISOString(),
        score: r.rrf_score,
      })),
      method: rows.length ? (vector ? "hybrid" : "keyword") : "none",
    };
  });
}

/** The chat (created when `conversationId` is null) and its last `turns` messages, oldest first. */
export async function openChat(db: Db, userId: string, conversationId: string | null, turns: number) {
  return await asUser(db, userId, async (tx) => {
    let id = conversationId;
    if (!id) {
      const [c] = await tx`insert into public.chat_conversations (user_id) values (${userId}) returning id`;
      id = c!.id as string;
    } else {
      const [c] = await tx`select id from public.chat_conversations where id = ${id}`;
      if (!c) return null;
    }
    const history = await tx`select role, content from (select role, content, created_at from public.chat_messages
      where conversation_id = ${id} order by created_at desc limit ${turns}) t order by created_at`;
    const [count] = await tx`select count(*)::int as n from public.chat_messages`;
    return {
      id: id!,
      history: history.map((h) => ({ role: h.role as "user" | "assistant", content: h.content as string })),
      total: count!.n as number,
    };
  });
}

/** Adds the person's own turn, as the person: RLS admits only `role = 'user'` in their own chat. */
export async function saveUserMessage(db: Db, userId: string, conversationId: string, content: string) {
  await asUser(
    db,
    userId,
    (tx) =>
      tx`insert into public.chat_messages (user_id, conversation_id, role, content)
                                      values (${userId}, ${conversationId}, 'user', ${content})`,
  );
}

/**
 * Adds the companion's reply. Users may not write assistant turns (RLS), so this runs on the
 * function's own connection; the conversation must still belong to `userId`, checked in the
 * same statement. Throws when it does not (nothing is written).
 */
export async function saveAssistantMessage(
  db: Db,
  userId: string,
  conversationId: string,
  content: string,
  complete = true,
) {
  const rows = await db`insert into public.chat_messages (user_id, conversation_id, role, content, complete)
    select c.user_id, c.id, 'assistant', ${content}::text, ${complete}::boolean
      from public.chat_conversations c where c.id = ${conversationId}::uuid and c.user_id = ${userId}::uuid
    returning id`;
  if (rows.length !== 1) throw new Error(`saveAssistantMessage: chat ${conversationId} is not ${userId}'s`);
}
