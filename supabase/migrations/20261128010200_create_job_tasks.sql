-- job_tasks: the durable queue. Every unit of work is a row, enqueued in the same transaction
-- as the change that causes it; pg_net kicks only wake functions up. task_key is unique per
-- job, so enqueueing twice is a no-op.
create table if not exists private.job_tasks (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  stage text not null references private.stages (stage),
  task_key text not null check (length(task_key) between 1 and 200),
  payload jsonb not null default '{}'::jsonb,
  state text not null default 'pending'
    check (state in ('pending', 'running', 'done', 'failed', 'dead', 'cancelled')),
  attempts integer not null default 0,
  max_attempts integer not null check (max_attempts >= 1),
  run_after timestamptz not null default now(),
  lease_until timestamptz,
  lease_token uuid,
  claimed_by text,
  claimed_at timestamptz,
  kicked_at timestamptz,
  last_error text,
  last_error_code text,
  result jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  unique (job_id, task_key)
);
comment on table private.job_tasks is
  'Durable task queue. state: pending (due at run_after) -> running (leased) -> done | failed '
  '(will retry at run_after) | dead (attempts spent; job failed) | cancelled (job cancelled).';

create index if not exists job_tasks_due on private.job_tasks (stage, run_after) where state in ('pending', 'failed');
create index if not exists job_tasks_running on private.job_tasks (stage, lease_until) where state = 'running';
create index if not exists job_tasks_job_stage_open on private.job_tasks (job_id, stage) where state in ('pending', 'failed', 'running');
create index if not exists job_tasks_dead on private.job_tasks (updated_at) where state = 'dead';

/* Every kick sent, so that lost requests (no pg_net response) can be seen and counted. */
create table if not exists private.kicks (
  request_id bigint primary key,
  function_name text not null,
  stage text not null,
  task_ids bigint[] not null,
  reason text not null check (reason in ('enqueue', 'sweep', 'retry')),
  created_at timestamptz not null default now()
);
create index if not exists kicks_created on private.kicks (created_at);

/* When each job entered and left each stage: per-stage durations for ops and the CLI. */
create table if not exists private.job_stage_runs (
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  stage text not null,
  started_at timestamptz not null default clock_timestamp(),
  completed_at timestamptz,
  primary key (job_id, stage)
);

/* Every status change of every job: the timeline ops read, and proof of exactly-once advances. */
create table if not exists private.job_events (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  from_status text,
  to_status text not null,
  at timestamptz not null default clock_timestamp()
);
create index if not exists job_events_job on private.job_events (job_id, id);

grant select on private.job_tasks, private.kicks, private.job_stage_runs, private.job_events to service_role;
