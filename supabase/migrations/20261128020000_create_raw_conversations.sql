-- Canonical conversations from imports, one row per (user, conversation): a re-import replaces
-- the row, never duplicates it. Messages are the canonical thread in order, as jsonb
-- [{role, content, created_at}], so a conversation is written and replaced in one statement.
-- `json`, not `jsonb`: stored as written (no re-encoding of megabytes per slice) and read back
-- whole by the chunker; lz4 keeps TOAST compression cheap.
create table if not exists public.raw_conversations (
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id text not null check (length(conversation_id) between 1 and 300),
  job_id uuid references public.processing_jobs (id) on delete set null,
  source text not null check (source in ('chatgpt', 'claude')),
  title text not null,
  created_at timestamptz not null,
  updated_at timestamptz,
  model text,
  message_count integer not null check (message_count > 0),
  user_message_count integer not null,
  assistant_message_count integer not null,
  user_chars integer not null default 0,     -- Σ min(length, 500) over user messages (sampling score)
  total_chars bigint not null default 0,     -- Σ message lengths (sampling budget)
  messages json not null check (json_typeof(messages) = 'array'),
  imported_at timestamptz not null default now(),
  primary key (user_id, conversation_id)
);
alter table public.raw_conversations alter column messages set compression lz4;
create index if not exists raw_conversations_user_created on public.raw_conversations (user_id, created_at desc);
create index if not exists raw_conversations_job on public.raw_conversations (job_id);
comment on table public.raw_conversations is
  'Canonical conversations (current_node thread) from imports. Users read their own; the pipeline writes.';

alter table public.raw_conversations enable row level security;
drop policy if exists "raw conversations: users read their own" on public.raw_conversations;
create policy "raw conversations: users read their own" on public.raw_conversations for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.raw_conversations from anon, authenticated;
grant select on public.raw_conversations to authenticated;
grant all on public.raw_conversations to service_role;

/* Conversations an import skipped, with the reason (counted in processing_jobs.warning_count). */
create table if not exists private.job_warnings (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  task_key text not null,
  ref text not null,
  code text not null,
  message text not null,
  created_at timestamptz not null default now()
);
create index if not exists job_warnings_job on private.job_warnings (job_id);
grant select on private.job_warnings to service_role;
