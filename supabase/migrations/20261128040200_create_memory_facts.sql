-- Facts extracted per chunk, with provenance. A retried extract batch replaces its own rows
-- (keyed by job and chunk) and nothing else. job_artifacts holds a job's intermediate
-- documents (consolidated facts), and notifications the completion webhook's outcomes.
create table if not exists public.memory_facts (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  chunk_id uuid not null references public.conversation_chunks (id) on delete cascade,
  conversation_id text not null,
  conversation_date timestamptz,
  category text not null check (category in ('preferences', 'projects', 'dates', 'beliefs', 'decisions')),
  fact jsonb not null,
  created_at timestamptz not null default now()
);
create index if not exists memory_facts_job_chunk on public.memory_facts (job_id, chunk_id);
create index if not exists memory_facts_user on public.memory_facts (user_id, category);

alter table public.memory_facts enable row level security;
drop policy if exists "facts: users read their own" on public.memory_facts;
create policy "facts: users read their own" on public.memory_facts for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.memory_facts from anon, authenticated;
grant select on public.memory_facts to authenticated;
grant all on public.memory_facts to service_role;

create table if not exists private.job_artifacts (
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  name text not null,
  content jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (job_id, name)
);

create table if not exists private.notifications (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  url text not null,
  attempts integer not null,
  status_code integer,
  outcome text not null check (outcome in ('delivered', 'failed', 'skipped')),
  error text,
  created_at timestamptz not null default now()
);
grant select on private.job_artifacts, private.notifications to service_role;
