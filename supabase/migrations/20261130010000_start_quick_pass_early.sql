-- First chat fast, whatever the export's size: the quick pass starts once ingest has read a bounded
-- first window of the upload (exports list their newest conversations first), not after the whole
-- file, and runs beside the rest of ingest. The later stages still begin only when ingest ends.
--
-- The mechanism is general ("a stage may start early"), configured by private.early_stages:
--   * when a task of `after_stage` completes and that stage has done `window_tasks` tasks or the job
--     has counted `window_conversations` conversations, the early stage's first task
--     ('<stage>:start') is enqueued, once (its task key is unique per job);
--   * that first task may be claimed and completed while the job is still at `after_stage`; tasks it
--     adds wait for the stage proper (e.g. the quick pass's refresh of an oldest-first export);
--   * an early completion moves neither the job's status nor its progress (the job still shows
--     ingest, truthfully); when `after_stage` ends and the early stage has nothing left to do, the
--     job goes straight past it to the stage after;
--   * an early first task that dies does not fail the import: it is kept dead under
--     '<stage>:early' (for ops.dead_letters) and the stage runs normally when the job reaches it.
-- Small exports end ingest before the window: the stage then runs at its turn, as before.

create table if not exists private.early_stages (
  stage text primary key references private.stages (stage),
  after_stage text not null references private.stages (stage),
  window_tasks integer not null check (window_tasks >= 1),
  window_conversations integer not null check (window_conversations >= 1),
  check (stage <> after_stage)
);
comment on table private.early_stages is
  'Stages whose first task starts while the job is still at after_stage, once that stage has done '
  'window_tasks tasks or the job counts window_conversations conversations.';
grant select on private.early_stages to service_role;

-- Ingest reads ~2 MB of the decompressed export per task: the window is the first ~16 MB or the
-- first 1,000 conversations, whichever comes first (about 2 s of ingest), plenty for a quick
-- pass that samples at most 50 conversations.
insert into private.early_stages (stage, after_stage, window_tasks, window_conversations)
values ('quick_pass', 'ingest', 8, 1000)
on conflict (stage) do nothing;

/*
 * private.task_runnable(job_status, task_stage, task_key) -> boolean
 * Whether a task may be claimed or completed now: its job is at the task's stage, or the task is
 * an early stage's first task and the job is at the stage the early stage runs beside.
 */
create or replace function private.task_runnable(p_job_status text, p_task_stage text, p_task_key text) returns boolean
language sql stable security definer set search_path = '' as $$
  select p_job_status = p_task_stage
      or (p_task_key = p_task_stage || ':start'
          and exists (select from private.early_stages e where e.stage = p_task_stage and e.after_stage = p_job_status))
$$;

/*
 * private.claim_tasks(stage, task_ids, limit, worker) -> setof private.job_tasks
 * As in 20261128010300_create_task_api.sql, with "the job is at that stage" widened to
 * private.task_runnable (an early stage's first task is claimable while ingest runs).
 */
create or replace function private.claim_tasks(p_stage text, p_task_ids bigint[], p_limit integer, p_worker text)
returns setof private.job_tasks
language plpgsql security definer set search_path = '' as $$
declare
  cfg private.stages;
  v_running integer;
  v_slots integer;
begin
  select * into strict cfg from private.stages where stage = p_stage;
  perform pg_advisory_xact_lock(hashtextextended('private.claim_tasks:' || p_stage, 0));
  select count(*) into v_running from private.job_tasks
   where stage = p_stage and state = 'running' and lease_until > now();
  v_slots := least(p_limit, cfg.concurrency_cap - v_running);
  if v_slots <= 0 then return; end if;

  return query
  with per_job as (
    select t.job_id, j.status,
           count(*) filter (where t.state = 'running' and t.lease_until > now()) as running
      from private.job_tasks t
      join public.processing_jobs j on j.id = t.job_id
     where t.stage = p_stage and t.state in ('pending', 'failed', 'running')
       and private.task_runnable(j.status, p_stage, t.task_key)
     group by t.job_id, j.status
    having count(*) filter (where t.state in ('pending', 'failed') and t.run_after <= now()) > 0
       and count(*) filter (where t.state = 'running' and t.lease_until > now()) < cfg.max_running_per_job
  ), picked as (
    select c.id, pj.running,
           row_number() over (partition by pj.job_id order by c.id) as rn,
           (c.id = any(coalesce(p_task_ids, '{}'))) as kicked
      from per_job pj
      cross join lateral (
        select t.id from private.job_tasks t
         where t.job_id = pj.job_id and t.stage = p_stage
           and t.state in ('pending', 'failed') and t.run_after <= now()
           and private.task_runnable(pj.status, p_stage, t.task_key)
         order by t.id
         limit (cfg.max_running_per_job - pj.running)
         for update skip locked
      ) c
  ), chosen as (
    select id from picked order by rn, running, kicked desc, id limit v_slots
  )
  update private.job_tasks t
     set state = 'running', attempts = t.attempts + 1, lease_token = gen_random_uuid(),
         lease_until = now() + make_interval(secs => cfg.lease_seconds), claimed_by = p_worker,
         claimed_at = clock_timestamp(),
         updated_at = now()
    from chosen
   where t.id = chosen.id
  returning t.*;
end $$;

/*
 * private.complete_task(task_id, lease_token, result, new_tasks, counters, stage_fraction) -> jsonb
 * As in 20261128010300_create_task_api.sql, plus:
 *  - an early completion (the job is still at the stage before) records the task's results and
 *    counters but moves neither status nor progress; the early stage's run is closed when it has
 *    nothing left to do;
 *  - after a task of the job's current stage, an early stage whose window is reached is started
 *    (private.enqueue_stage: its first task, once);
 *  - advancing skips an early stage that already finished its work.
 * Returns {"advanced_to": <status or null>, "enqueued": <n>}. Raises SPT01 / SPT02 as before.
 */
create or replace function private.complete_task(
  p_task_id bigint, p_lease_token uuid, p_result jsonb default null,
  p_new_tasks jsonb default '[]'::jsonb, p_counters jsonb default '{}'::jsonb, p_stage_fraction numeric default null
) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  job public.processing_jobs;
  task private.job_tasks;
  open_left integer;
  total integer;
  done integer;
  p_start integer;
  p_end integer;
  next_status text;
  enqueued integer := 0;
  early private.early_stages;
  started_early boolean;
  st record;
begin
  select j.* into job from public.processing_jobs j
   where j.id = (select job_id from private.job_tasks where id = p_task_id) for no key update;
  select * into task from private.job_tasks where id = p_task_id for update;
  if task.id is null or task.state <> 'running' or task.lease_token is distinct from p_lease_token then
    raise exception using errcode = 'SPT01', message = format('task %s is not running under this lease', p_task_id);
  end if;
  if not private.task_runnable(job.status, task.stage, task.task_key) then
    raise exception using errcode = 'SPT02',
      message = format('job %s is %s, no longer at stage %s', job.id, job.status, task.stage);
  end if;

  update private.job_tasks set state = 'done', result = p_result, completed_at = now(), updated_at = now(),
         lease_until = null, last_error = null, last_error_code = null
   where id = p_task_id;

  if p_new_tasks is not null and jsonb_array_length(p_new_tasks) > 0 then
    if exists (select from jsonb_array_elements(p_new_tasks) e
                where coalesce(e ->> 'task_key', '') = '' or coalesce(e ->> 'stage', task.stage) <> task.stage) then
      raise exception using errcode = '22023', message = 'new tasks need a task_key and must belong to the same stage';
    end if;
    with ins as (
      insert into private.job_tasks (job_id, stage, task_key, payload, max_attempts)
      select job.id, task.stage, e ->> 'task_key', coalesce(e -> 'payload', '{}'::jsonb), s.max_attempts
        from jsonb_array_elements(p_new_tasks) e, private.stages s
       where s.stage = task.stage
      on conflict (job_id, task_key) do nothing
      returning 1)
    select count(*) into enqueued from ins;
  end if;

  perform private.apply_job_counters(job.id, task.stage, p_counters);

  select count(*) filter (where state in ('pending', 'failed', 'running')), count(*), count(*) filter (where state = 'done')
    into open_left, total, done
    from private.job_tasks where job_id = job.id and stage = task.stage;

  if job.status <> task.stage then
    -- Early: the job is still at the stage before; its status and progress stay that stage's.
    if open_left = 0 then
      update private.job_stage_runs set completed_at = clock_timestamp()
       where job_id = job.id and stage = task.stage and completed_at is null;
    end if;
    update public.processing_jobs set heartbeat_at = now() where id = job.id;
    return jsonb_build_object('advanced_to', null, 'enqueued', enqueued);
  end if;

  -- Progress within the stage: its share of the version's range, by tasks done.
  select x.ps, x.pe into p_start, p_end from (
    select ps.stage, ps.progress_start as ps, coalesce(lead(ps.progress_start) over (order by ps.position), 100) as pe
      from private.pipeline_stages ps where ps.version = job.pipeline_version) x
   where x.stage = task.stage;

  update public.processing_jobs
     set progress_percent = greatest(progress_percent, p_start + floor((p_end - p_start)
           * least(coalesce(p_stage_fraction, done::numeric / greatest(total, 1)), 1))::integer - 1),
         heartbeat_at = now()
   where id = job.id;

  if open_left = 0 then
    -- The next stage, past any early stage that already did all its work.
    for st in
      select ps.stage from private.pipeline_stages ps
       where ps.version = job.pipeline_version
         and ps.position > (select position from private.pipeline_stages where version = job.pipeline_version and stage = task.stage)
       order by ps.position
    loop
      continue when exists (select from private.early_stages x where x.stage = st.stage)
        and exists (select from private.job_tasks t where t.job_id = job.id and t.stage = st.stage and t.state = 'done')
        and not exists (select from private.job_tasks t where t.job_id = job.id and t.stage = st.stage
                          and t.state in ('pending', 'failed', 'running'));
      next_status := st.stage;
      exit;
    end loop;
    next_status := coalesce(next_status, 'complete');
    started_early := exists (select from private.job_tasks t where t.job_id = job.id and t.task_key = next_status || ':start');
    update public.processing_jobs set status = next_status where id = job.id;
    -- A stage that started early gets no new first task at its turn (enqueue_stage finds it), and
    -- what it added for its turn was not runnable when inserted: wake its function for those now.
    if started_early then
      perform private.kick(next_status, array(
        select t.id from private.job_tasks t
         where t.job_id = job.id and t.stage = next_status and t.state = 'pending' and t.run_after <= now()
         order by t.id), 'enqueue');
    end if;
  else
    -- The window: start each early stage that runs beside this one, once, when it is reached.
    for early in
      select x.* from private.early_stages x
        join private.pipeline_stages ps on ps.version = job.pipeline_version and ps.stage = x.stage
       where x.after_stage = task.stage
         and not exists (select from private.job_tasks t where t.job_id = job.id and t.stage = x.stage)
    loop
      if done >= early.window_tasks
         or (select conversation_count from public.processing_jobs where id = job.id) >= early.window_conversations then
        perform private.enqueue_stage(job.id, early.stage);
      end if;
    end loop;
  end if;
  return jsonb_build_object('advanced_to', case when open_left = 0 then next_status end, 'enqueued', enqueued);
end $$;

/*
 * private.fail_task(task_id, lease_token, code, message, retriable) -> text
 * As in 20261128010300_create_task_api.sql, with "the job is at the task's stage" widened to
 * private.task_runnable, and one difference: an early first task that dies (attempts spent or
 * not retriable) does not fail the job. It is kept dead, renamed '<stage>:early', so the stage
 * enqueues a fresh first task when the job reaches it; returns 'dead' as usual.
 */
create or replace function private.fail_task(
  p_task_id bigint, p_lease_token uuid, p_code text, p_message text, p_retriable boolean default true
) returns text
language plpgsql security definer set search_path = '' as $$
declare
  job public.processing_jobs;
  task private.job_tasks;
  cfg private.stages;
  delay_ms double precision;
  runnable boolean;
begin
  select j.* into job from public.processing_jobs j
   where j.id = (select job_id from private.job_tasks where id = p_task_id) for no key update;
  select * into task from private.job_tasks where id = p_task_id for update;
  if task.id is null or task.state <> 'running' or task.lease_token is distinct from p_lease_token then
    return 'ignored';
  end if;
  select * into strict cfg from private.stages where stage = task.stage;
  runnable := private.task_runnable(job.status, task.stage, task.task_key);
  if p_retriable and task.attempts < task.max_attempts and runnable then
    delay_ms := least(cfg.backoff_cap_ms, cfg.backoff_base_ms * power(2, task.attempts - 1)) * (0.75 + random() * 0.5);
    update private.job_tasks
       set state = 'failed', run_after = now() + make_interval(secs => delay_ms / 1000.0), lease_until = null,
           lease_token = null, last_error = left(p_message, 2000), last_error_code = p_code, updated_at = now()
     where id = p_task_id;
    return 'failed';
  end if;
  update private.job_tasks
     set state = 'dead', lease_until = null, lease_token = null, last_error = left(p_message, 2000),
         last_error_code = p_code, updated_at = now(),
         task_key = case when runnable and job.status <> task.stage then task.stage || ':early' else task_key end
   where id = p_task_id;
  if runnable and job.status <> task.stage then
    return 'dead'; -- an early start that failed: the stage runs at its turn, the import goes on
  end if;
  perform private.fail_job(job.id, task.stage, p_code,
    format('%s failed after %s attempt%s: %s', cfg.label, task.attempts,
           case when task.attempts = 1 then '' else 's' end, p_message));
  return 'dead';
end $$;

/*
 * private.hand_off(stage) -> integer
 * As in 20261129036000_create_stage_hand_off.sql, for every task that is runnable now.
 */
create or replace function private.hand_off(p_stage text) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  ids bigint[];
  cfg private.stages;
begin
  select * into strict cfg from private.stages where stage = p_stage;
  select array_agg(t.id order by t.id) into ids from (
    select t.id from private.job_tasks t
      join public.processing_jobs j on j.id = t.job_id and private.task_runnable(j.status, t.stage, t.task_key)
     where t.stage = p_stage and t.state in ('pending', 'failed') and t.run_after <= now()
     order by t.id limit cfg.batch_size) t;
  if ids is null then return 0; end if;
  return least(private.kick(p_stage, ids, 'hand_off'), 1);
end $$;

/*
 * private.sweep() -> jsonb
 * As in 20261128010600_schedule_sweeper.sql, re-kicking every task that is runnable now (an early
 * stage's first task included, so a lost kick does not wait for ingest to end).
 */
create or replace function private.sweep() returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  r record;
  expired integer := 0;
  rekicked integer := 0;
  kicks integer := 0;
  beats integer;
begin
  for r in select id from private.job_tasks where state = 'running' and lease_until < now() order by id limit 1000 loop
    if private.expire_lease(r.id) <> 'ignored' then expired := expired + 1; end if;
  end loop;

  for r in
    select t.stage, array_agg(t.id order by t.id) as ids
      from private.job_tasks t
      join public.processing_jobs j on j.id = t.job_id and private.task_runnable(j.status, t.stage, t.task_key)
     where t.state in ('pending', 'failed') and t.run_after <= now()
       and (t.kicked_at is null or t.kicked_at < now() - interval '5 seconds')
     group by t.stage
  loop
    rekicked := rekicked + array_length(r.ids, 1);
    kicks := kicks + private.kick(r.stage, r.ids, 'sweep');
  end loop;

  update public.processing_jobs j set heartbeat_at = now()
   where j.status not in ('complete', 'failed', 'cancelled')
     and exists (select from private.job_tasks t where t.job_id = j.id and t.state = 'running');
  get diagnostics beats = row_count;

  delete from private.kicks where created_at < now() - interval '1 day';
  return jsonb_build_object('expired', expired, 'rekicked_tasks', rekicked, 'kicks', kicks, 'heartbeats', beats);
end $$;

revoke all on function private.task_runnable(text, text, text), private.claim_tasks(text, bigint[], integer, text),
  private.complete_task(bigint, uuid, jsonb, jsonb, jsonb, numeric), private.fail_task(bigint, uuid, text, text, boolean),
  private.hand_off(text), private.sweep()
  from public, anon, authenticated;
grant execute on function private.claim_tasks(text, bigint[], integer, text),
  private.complete_task(bigint, uuid, jsonb, jsonb, jsonb, numeric), private.fail_task(bigint, uuid, text, text, boolean),
  private.hand_off(text)
  to service_role;
