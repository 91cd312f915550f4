-- The `selftest` pipeline: a diagnostic job that fans out N tasks and fans back in, through the
-- real triggers, pg_net, functions and sweeper, recording one effect row per task execution.
-- Duplicate effect rows for one task_key would mean a task's effect was committed twice.
create table if not exists private.selftest_effects (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  task_key text not null,
  applied_at timestamptz not null default clock_timestamp()
);
create index if not exists selftest_effects_job on private.selftest_effects (job_id, task_key);
grant select, insert on private.selftest_effects to service_role;

/*
 * private.start_selftest(user_id, tasks, work_ms) -> uuid (job id)
 * Called by: ops, tests, benchmarks (service only). Starts a selftest job for the user with
 * `tasks` fan-out tasks, each simulating `work_ms` of I/O. Raises SPJ01 like any import.
 */
create or replace function private.start_selftest(p_user_id uuid, p_tasks integer default 50, p_work_ms integer default 0)
returns uuid
language sql security definer set search_path = '' as $$
  insert into public.processing_jobs (user_id, storage_path, pipeline_version, options)
  values (p_user_id, 'selftest/' || gen_random_uuid(), 'selftest',
          jsonb_build_object('tasks', p_tasks, 'work_ms', p_work_ms))
  returning id
$$;

/* Duplicate effects (should always be empty). */
create or replace view ops.selftest_duplicate_effects as
select job_id, task_key, count(*) as applied from private.selftest_effects group by job_id, task_key having count(*) > 1;

revoke all on function private.start_selftest(uuid, integer, integer) from public, anon, authenticated;
grant execute on function private.start_selftest(uuid, integer, integer) to service_role;
grant select on ops.selftest_duplicate_effects to service_role;
