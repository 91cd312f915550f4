-- processing_jobs: one row per import, inserted by the user (RLS) and driven by the database.
-- `status` is the current stage, or queued / complete / failed / cancelled.
create table if not exists public.processing_jobs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  storage_path text not null check (length(storage_path) between 1 and 1024),
  file_type text check (file_type in ('json', 'zip', 'gzip')),
  pipeline_version text not null references private.pipeline_versions (version),
  options jsonb not null default '{}'::jsonb,             -- set by the service only (diagnostics)
  status text not null default 'queued' check (status ~ '^[a-z][a-z0-9_]*$'),
  failed_stage text,
  progress_percent integer not null default 0 check (progress_percent between 0 and 100),
  import_stage text not null default 'Queued',
  conversation_count integer not null default 0,
  message_count integer not null default 0,
  chunk_count integer not null default 0,
  embedding_count integer not null default 0,
  fact_count integer not null default 0,
  warning_count integer not null default 0,
  attempts integer not null default 1,                    -- 1 + number of retries
  error_code text,
  error_message text check (length(error_message) <= 500),
  cost_usd numeric(12, 6) not null default 0,
  cost jsonb not null default '{}'::jsonb,                -- per-stage breakdown
  created_at timestamptz not null default now(),
  started_at timestamptz,
  heartbeat_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  updated_at timestamptz not null default now()
);
comment on table public.processing_jobs is
  'One row per import. Users insert (own folder only) and read their own rows; the pipeline '
  'writes everything else. status = current stage | queued | complete | failed | cancelled.';

-- At most one active job per user (the coded check in the insert trigger explains it; this
-- index makes it hold under concurrent inserts too).
create unique index if not exists processing_jobs_one_active_per_user
  on public.processing_jobs (user_id) where status not in ('complete', 'failed', 'cancelled');
create index if not exists processing_jobs_user_created on public.processing_jobs (user_id, created_at desc);
create index if not exists processing_jobs_status on public.processing_jobs (status);
create index if not exists processing_jobs_version_created on public.processing_jobs (pipeline_version, created_at);

alter table public.processing_jobs enable row level security;

drop policy if exists "jobs: users read their own" on public.processing_jobs;
create policy "jobs: users read their own" on public.processing_jobs for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "jobs: users start their own import" on public.processing_jobs;
create policy "jobs: users start their own import" on public.processing_jobs for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and storage_path like 'imports/' || (select auth.uid())::text || '/_%'
    and storage_path not like '%/../%'
  );

-- Users may only name their file; everything else is the pipeline's.
revoke all on public.processing_jobs from anon, authenticated;
grant select on public.processing_jobs to authenticated;
grant insert (user_id, storage_path, file_type) on public.processing_jobs to authenticated;
grant all on public.processing_jobs to service_role;
