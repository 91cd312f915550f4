-- user_profiles: one row per user, the SoulPrint and the status contract the frontend reads
-- (SPEC §5). Users read their own row; only the pipeline writes the SoulPrint fields.
create table if not exists public.user_profiles (
  user_id uuid primary key references auth.users (id) on delete cascade,
  import_status text not null default 'none'
    check (import_status in ('none', 'quick_ready', 'processing', 'complete', 'locked', 'failed')),
  import_error text check (length(import_error) <= 500),
  progress_percent integer not null default 0 check (progress_percent between 0 and 100),
  import_stage text,
  processing_started_at timestamptz,
  storage_path text,
  file_type text,
  job_id uuid references public.processing_jobs (id) on delete set null,
  pipeline_version text,
  full_pass_status text not null default 'pending' check (full_pass_status in ('pending', 'processing', 'complete', 'failed')),
  full_pass_started_at timestamptz,
  full_pass_completed_at timestamptz,
  full_pass_error text check (length(full_pass_error) <= 500),
  sections jsonb,
  soul_md text,
  identity_md text,
  user_md text,
  agents_md text,
  tools_md text,
  memory_md text,
  memory_status text not null default 'none' check (memory_status in ('none', 'building', 'ready', 'degraded')),
  memory_error_code text,
  soulprint_text text,
  ai_name text,
  archetype text,
  generated_by text,                          -- provider/model that wrote the sections (e.g. offline)
  sections_source text check (sections_source in ('quick_pass', 'regenerate')),
  import_cost_json jsonb not null default '{}'::jsonb,
  total_conversations integer not null default 0,
  total_messages integer not null default 0,
  total_chunks integer not null default 0,
  total_facts integer not null default 0,
  soulprint_generated_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.user_profiles is 'The SoulPrint and import status per user (SPEC §5). Written only by the pipeline.';

alter table public.user_profiles enable row level security;
drop policy if exists "profiles: users read their own" on public.user_profiles;
create policy "profiles: users read their own" on public.user_profiles for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.user_profiles from anon, authenticated;
grant select on public.user_profiles to authenticated;
grant all on public.user_profiles to service_role;
