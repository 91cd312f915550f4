-- Triggers that make the database the orchestrator: a new job is routed to a pipeline version
-- and its first stage; each status change enqueues that stage's first task in the same
-- transaction; each batch of new tasks kicks the stage's function.
-- SQLSTATE SPJ01: the user already has an active import.

/*
 * private.rollout_bucket(user_id) -> integer 0..99
 * Stable bucket of a user for rollouts: first 32 bits of md5(user_id) mod 100 (reproducible
 * in any language). Immutable.
 */
create or replace function private.rollout_bucket(p_user_id uuid) returns integer
language sql immutable set search_path = '' as $$
  select (('x' || substr(md5(p_user_id::text), 1, 8))::bit(32)::bigint % 100)::integer
$$;

/*
 * private.choose_pipeline_version(user_id) -> text
 * The candidate version when the user's bucket is below candidate_percent, else the stable one.
 */
create or replace function private.choose_pipeline_version(p_user_id uuid) returns text
language sql stable security definer set search_path = '' as $$
  select case when r.candidate_version is not null and private.rollout_bucket(p_user_id) < r.candidate_percent
              then r.candidate_version else r.stable_version end
    from private.pipeline_rollout r
$$;

/*
 * private.enqueue_stage(job_id, stage) -> void
 * Inserts the stage's first task (task_key '<stage>:start'; a no-op if it exists) and records
 * when the job entered the stage. Idempotent.
 */
create or replace function private.enqueue_stage(p_job_id uuid, p_stage text) returns void
language sql security definer set search_path = '' as $$
  insert into private.job_stage_runs (job_id, stage) values (p_job_id, p_stage)
  on conflict (job_id, stage) do update set completed_at = null;
  insert into private.job_tasks (job_id, stage, task_key, max_attempts)
  select p_job_id, p_stage, p_stage || ':start', s.max_attempts from private.stages s where s.stage = p_stage
  on conflict (job_id, task_key) do nothing;
$$;

/*
 * processing_jobs__prepare() before insert.
 * Refuses a second active job for the user (SPJ01), picks the pipeline version (callers other
 * than the service cannot choose it), and starts the job at the version's first stage.
 */
create or replace function private.processing_jobs__prepare() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  active uuid;
  first_stage text;
  first_label text;
begin
  select id into active from public.processing_jobs
   where user_id = new.user_id and status not in ('complete', 'failed', 'cancelled') limit 1;
  if active is not null then
    raise exception using errcode = 'SPJ01',
      message = 'An import is already in progress for this account.',
      detail = format('active job %s', active),
      hint = 'Wait for it to finish, or cancel it first.';
  end if;
  if new.pipeline_version is null or coalesce(current_setting('role', true), 'none') in ('authenticated', 'anon') then
    new.pipeline_version := private.choose_pipeline_version(new.user_id);
  end if;
  select ps.stage, s.label into first_stage, first_label
    from private.pipeline_stages ps join private.stages s on s.stage = ps.stage
   where ps.version = new.pipeline_version order by ps.position limit 1;
  if first_stage is null then
    raise exception using errcode = '22023', message = format('pipeline version %L has no stages', new.pipeline_version);
  end if;
  new.status := first_stage;
  new.import_stage := first_label;
  new.started_at := now();
  new.heartbeat_at := now();
  new.progress_percent := 0;
  new.attempts := 1;
  return new;
end $$;

/*
 * processing_jobs__derive() before update.
 * Keeps derived fields true: progress never goes back; import_stage follows the status;
 * terminal timestamps are stamped once.
 */
create or replace function private.processing_jobs__derive() returns trigger
language plpgsql security definer set search_path = '' as $$
declare st record;
begin
  new.updated_at := now();
  new.progress_percent := greatest(old.progress_percent, new.progress_percent);
  if new.status is distinct from old.status then
    if new.status = 'complete' then
      new.progress_percent := 100; new.import_stage := 'Complete'; new.completed_at := now();
    elsif new.status = 'failed' then
      new.import_stage := 'Failed'; new.completed_at := now();
    elsif new.status = 'cancelled' then
      new.import_stage := 'Cancelled'; new.cancelled_at := now(); new.completed_at := now();
    else
      select s.label, ps.progress_start into st
        from private.pipeline_stages ps join private.stages s on s.stage = ps.stage
       where ps.version = new.pipeline_version and ps.stage = new.status;
      if st is null then
        raise exception using errcode = '22023',
          message = format('%L is not a stage of pipeline %s', new.status, new.pipeline_version);
      end if;
      new.import_stage := st.label;
      new.progress_percent := greatest(new.progress_percent, st.progress_start);
      new.completed_at := null;
    end if;
  end if;
  return new;
end $$;

/*
 * processing_jobs__enqueue() after insert or update of status.
 * Records the transition, closes the previous stage's run and enqueues the new stage's first
 * task (same transaction).
 */
create or replace function private.processing_jobs__enqueue() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into private.job_events (job_id, from_status, to_status)
  values (new.id, case when tg_op = 'UPDATE' then old.status end, new.status);
  if tg_op = 'UPDATE' then
    update private.job_stage_runs set completed_at = clock_timestamp()
     where job_id = new.id and stage = old.status and completed_at is null and new.status <> 'failed';
  end if;
  if exists (select from private.pipeline_stages where version = new.pipeline_version and stage = new.status) then
    perform private.enqueue_stage(new.id, new.status);
  end if;
  return null;
end $$;

/*
 * job_tasks__kick() after insert, per statement.
 * Kicks the function of each stage that got new due tasks, with their ids.
 */
create or replace function private.job_tasks__kick() returns trigger
language plpgsql security definer set search_path = '' as $$
declare r record;
begin
  for r in
    select n.stage, array_agg(n.id order by n.id) as ids
      from new_tasks n
     where n.state = 'pending' and n.run_after <= now()
     group by n.stage
  loop
    perform private.kick(r.stage, r.ids, 'enqueue');
  end loop;
  return null;
end $$;

drop trigger if exists _100_prepare on public.processing_jobs;
create trigger _100_prepare before insert on public.processing_jobs
  for each row execute function private.processing_jobs__prepare();

drop trigger if exists _200_derive on public.processing_jobs;
create trigger _200_derive before update on public.processing_jobs
  for each row execute function private.processing_jobs__derive();

drop trigger if exists _300_enqueue_on_insert on public.processing_jobs;
create trigger _300_enqueue_on_insert after insert on public.processing_jobs
  for each row execute function private.processing_jobs__enqueue();

drop trigger if exists _300_enqueue_on_status on public.processing_jobs;
create trigger _300_enqueue_on_status after update of status on public.processing_jobs
  for each row when (old.status is distinct from new.status) execute function private.processing_jobs__enqueue();

drop trigger if exists _100_kick on private.job_tasks;
create trigger _100_kick after insert on private.job_tasks
  referencing new table as new_tasks
  for each statement execute function private.job_tasks__kick();

revoke all on function private.rollout_bucket(uuid), private.choose_pipeline_version(uuid),
  private.enqueue_stage(uuid, text), private.processing_jobs__prepare(), private.processing_jobs__derive(),
  private.processing_jobs__enqueue(), private.job_tasks__kick()
  from public, anon, authenticated;
