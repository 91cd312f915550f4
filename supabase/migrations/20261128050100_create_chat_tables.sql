-- Chat history: the companion's conversations with the person (not their imported history).
create table if not exists public.chat_conversations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  title text not null default 'New Chat',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists chat_conversations_user on public.chat_conversations (user_id, created_at desc);

create table if not exists public.chat_messages (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.chat_conversations (id) on delete cascade,
  role text not null check (role in ('user', 'assistant')),
  content text not null,
  complete boolean not null default true,     -- false: the stream ended early (client went away)
  created_at timestamptz not null default clock_timestamp()
);
create index if not exists chat_messages_conversation on public.chat_messages (conversation_id, created_at desc);

alter table public.chat_conversations enable row level security;
alter table public.chat_messages enable row level security;
drop policy if exists "chat conversations: own" on public.chat_conversations;
create policy "chat conversations: own" on public.chat_conversations for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists "chat messages: own" on public.chat_messages;
create policy "chat messages: own" on public.chat_messages for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid())
              and exists (select from public.chat_conversations c where c.id = conversation_id and c.user_id = (select auth.uid())));
revoke all on public.chat_conversations, public.chat_messages from anon;
grant select, insert, update, delete on public.chat_conversations, public.chat_messages to authenticated;
grant all on public.chat_conversations, public.chat_messages to service_role;
