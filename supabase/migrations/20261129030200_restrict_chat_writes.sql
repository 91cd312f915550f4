-- Chat history is the person's own, but the companion's words are not theirs to write: an
-- assistant turn is written only by the chat function through its service connection
-- (shared/adapters/chat.ts). Users read their chats, start and rename them, add their own turns
-- and delete what is theirs. They cannot write assistant turns, move a message to another chat,
-- edit a turn after the fact, or set ids, timestamps or the `complete` flag.

drop policy if exists "chat messages: own" on public.chat_messages;
drop policy if exists "chat messages: read own" on public.chat_messages;
create policy "chat messages: read own" on public.chat_messages for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists "chat messages: add own user turns" on public.chat_messages;
create policy "chat messages: add own user turns" on public.chat_messages for insert to authenticated
  with check (
    role = 'user'
    and user_id = (select auth.uid())
    and exists (select from public.chat_conversations c where c.id = conversation_id and c.user_id = (select auth.uid()))
  );
drop policy if exists "chat messages: delete own" on public.chat_messages;
create policy "chat messages: delete own" on public.chat_messages for delete to authenticated
  using (user_id = (select auth.uid()));

revoke all on public.chat_messages from authenticated;
grant select, delete on public.chat_messages to authenticated;
grant insert (user_id, conversation_id, role, content) on public.chat_messages to authenticated;

-- Conversations: the existing own-rows policy stays; columns narrow to what a person sets.
revoke all on public.chat_conversations from authenticated;
grant select, delete on public.chat_conversations to authenticated;
grant insert (user_id, title) on public.chat_conversations to authenticated;
grant update (title, updated_at) on public.chat_conversations to authenticated;
