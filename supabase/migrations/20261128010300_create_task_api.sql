-- The task API every stage function uses: claim, complete, fail (graphile-worker's discipline).
-- Custom SQLSTATEs (documented in README):
--   SPT01  the task is not running under this lease (expired, reclaimed or already finished)
--   SPT02  the job is no longer at this task's stage (cancelled, failed or moved on)

/*
 * private.kick(stage, task_ids, reason) -> integer (kicks sent)
 * Called by: the enqueue trigger, the sweeper, retry_job. Sends at most
 * min(ceil(n / batch_size), concurrency_cap) pg_net kicks to the stage's function, each with
 * {stage, task_ids} (ids only, never content), records them in private.kicks and stamps
 * kicked_at. Not idempotent: every call sends kicks (a kick is only a wake-up).
 */
create or replace function private.kick(p_stage text, p_task_ids bigint[], p_reason text) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  cfg private.stages;
  n integer := coalesce(array_length(p_task_ids, 1), 0);
  kicks integer;
  ids bigint[];
  req bigint;
begin
  if n = 0 then return 0; end if;
  select * into strict cfg from private.stages where stage = p_stage;
  kicks := least(ceil(n::numeric / cfg.batch_size)::integer, cfg.concurrency_cap);
  for i in 0 .. kicks - 1 loop
    ids := p_task_ids[i * cfg.batch_size + 1 : (i + 1) * cfg.batch_size];
    req := util.invoke_edge_function(cfg.function_name,
      jsonb_build_object('stage', p_stage, 'task_ids', to_jsonb(ids)),
      (cfg.lease_seconds * 1000)::integer);
    insert into private.kicks (request_id, function_name, stage, task_ids, reason)
    values (req, cfg.function_name, p_stage, ids, p_reason);
  end loop;
  update private.job_tasks set kicked_at = now() where id = any(p_task_ids);
  return kicks;
end $$;

/*
 * private.claim_tasks(stage, task_ids, limit, worker) -> setof private.job_tasks
 * Called by: stage functions. Claims up to `limit` due tasks (pending, or failed and due) of
 * `stage` whose job is at that stage, with `for update skip locked`; bumps attempts, sets a
 * fresh lease_token and lease_until = now() + stages.lease_seconds. Fairness: jobs with the
 * fewest running tasks go first, one task per job per round (round-robin), within the stage's
 * concurrency_cap (all jobs) and max_running_per_job; `task_ids` (from the kick) break ties.
 * Claims of one stage are serialised by an advisory lock so the caps hold exactly.
 * Idempotent in effect: a task already claimed is never returned twice.
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
    select t.job_id,
           count(*) filter (where t.state = 'running' and t.lease_until > now()) as running
      from private.job_tasks t
      join public.processing_jobs j on j.id = t.job_id and j.status = p_stage
     where t.stage = p_stage and t.state in ('pending', 'failed', 'running')
     group by t.job_id
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
 * private.apply_job_counters(job_id, stage, counters) -> void
 * Adds numeric deltas to the job's counters: conversation_count, message_count, chunk_count,
 * embedding_count, fact_count, warning_count, and `cost` {usd, ...numbers} (per stage in
 * processing_jobs.cost, usd also in cost_usd). Raises 22023 on an unknown key.
 */
create or replace function private.apply_job_counters(p_job_id uuid, p_stage text, p_counters jsonb) returns void
language plpgsql security definer set search_path = '' as $$
declare
  k text;
  stage_cost jsonb;
  merged jsonb;
begin
  if p_counters is null or p_counters = '{}'::jsonb then return; end if;
  for k in select jsonb_object_keys(p_counters) loop
    if k not in ('conversation_count', 'message_count', 'chunk_count', 'embedding_count', 'fact_count', 'warning_count', 'cost') then
      raise exception using errcode = '22023', message = format('unknown job counter %L', k);
    end if;
  end loop;
  if p_counters ? 'cost' then
    select coalesce(cost -> p_stage, '{}'::jsonb) into stage_cost from public.processing_jobs where id = p_job_id;
    select coalesce(jsonb_object_agg(key, coalesce((stage_cost ->> key)::numeric, 0) + value::numeric), '{}'::jsonb)
      into merged
      from jsonb_each_text(p_counters -> 'cost');
    stage_cost := stage_cost || merged;
  end if;
  update public.processing_jobs set
    conversation_count = conversation_count + coalesce((p_counters ->> 'conversation_count')::integer, 0),
    message_count = message_count + coalesce((p_counters ->> 'message_count')::integer, 0),
    chunk_count = chunk_count + coalesce((p_counters ->> 'chunk_count')::integer, 0),
    embedding_count = embedding_count + coalesce((p_counters ->> 'embedding_count')::integer, 0),
    fact_count = fact_count + coalesce((p_counters ->> 'fact_count')::integer, 0),
    warning_count = warning_count + coalesce((p_counters ->> 'warning_count')::integer, 0),
    cost_usd = cost_usd + coalesce((p_counters -> 'cost' ->> 'usd')::numeric, 0),
    cost = case when stage_cost is null then cost else jsonb_set(cost, array[p_stage], stage_cost) end
  where id = p_job_id;
end $$;

/*
 * private.complete_task(task_id, lease_token, result, new_tasks, counters, stage_fraction) -> jsonb
 * Called by: stage functions, inside the transaction that wrote the task's results, so results
 * and completion commit together. Marks the task done; enqueues `new_tasks`
 * ([{task_key, payload}], same stage: fan-out and continuations; duplicates ignored); applies
 * counter deltas; moves progress forward (by tasks done, or by `stage_fraction` 0..1 when the
 * stage knows better, e.g. bytes read); and when this was the stage's last open task,
 * advances the job to its next stage (or complete). The job row is locked first, so racing
 * completions advance the job exactly once.
 * Returns {"advanced_to": <status or null>, "enqueued": <n>}.
 * Raises SPT01 when the lease is not held, SPT02 when the job left this stage (the caller's
 * transaction then rolls back: late completions change nothing).
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
begin
  select j.* into job from public.processing_jobs j
   where j.id = (select job_id from private.job_tasks where id = p_task_id) for no key update;
  select * into task from private.job_tasks where id = p_task_id for update;
  if task.id is null or task.state <> 'running' or task.lease_token is distinct from p_lease_token then
    raise exception using errcode = 'SPT01', message = format('task %s is not running under this lease', p_task_id);
  end if;
  if job.status <> task.stage then
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
    select ps.stage into next_status from private.pipeline_stages ps
     where ps.version = job.pipeline_version
       and ps.position > (select position from private.pipeline_stages where version = job.pipeline_version and stage = task.stage)
     order by ps.position limit 1;
    next_status := coalesce(next_status, 'complete');
    update public.processing_jobs set status = next_status where id = job.id;
  end if;
  return jsonb_build_object('advanced_to', case when open_left = 0 then next_status end, 'enqueued', enqueued);
end $$;

/*
 * private.fail_job(job_id, stage, code, message) -> void
 * Ends a job as failed at `stage` with a coded, readable error; its open tasks stay as they
 * are so that retry_job can resume them. No-op when the job is already terminal.
 */
create or replace function private.fail_job(p_job_id uuid, p_stage text, p_code text, p_message text) returns void
language sql security definer set search_path = '' as $$
  update public.processing_jobs
     set status = 'failed', failed_stage = p_stage, error_code = p_code, error_message = left(p_message, 500)
   where id = p_job_id and status not in ('complete', 'failed', 'cancelled');
$$;

/*
 * private.fail_task(task_id, lease_token, code, message, retriable) -> text
 * Called by: stage functions (in their own transaction, after the work's transaction rolled
 * back) and the sweeper. A retriable failure with attempts left goes back to the queue as
 * `failed` with run_after = now() + min(cap, base * 2^(attempts-1)) * jitter(0.75..1.25);
 * otherwise the task is `dead` and the job fails with the task's code and a readable message.
 * Returns the task's new state, or 'ignored' when the lease is not held (stale caller).
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
begin
  select j.* into job from public.processing_jobs j
   where j.id = (select job_id from private.job_tasks where id = p_task_id) for no key update;
  select * into task from private.job_tasks where id = p_task_id for update;
  if task.id is null or task.state <> 'running' or task.lease_token is distinct from p_lease_token then
    return 'ignored';
  end if;
  select * into strict cfg from private.stages where stage = task.stage;
  if p_retriable and task.attempts < task.max_attempts and job.status = task.stage then
    delay_ms := least(cfg.backoff_cap_ms, cfg.backoff_base_ms * power(2, task.attempts - 1)) * (0.75 + random() * 0.5);
    update private.job_tasks
       set state = 'failed', run_after = now() + make_interval(secs => delay_ms / 1000.0), lease_until = null,
           lease_token = null, last_error = left(p_message, 2000), last_error_code = p_code, updated_at = now()
     where id = p_task_id;
    return 'failed';
  end if;
  update private.job_tasks
     set state = 'dead', lease_until = null, lease_token = null, last_error = left(p_message, 2000),
         last_error_code = p_code, updated_at = now()
   where id = p_task_id;
  perform private.fail_job(job.id, task.stage, p_code,
    format('%s failed after %s attempt%s: %s', cfg.label, task.attempts,
           case when task.attempts = 1 then '' else 's' end, p_message));
  return 'dead';
end $$;

/*
 * private.extend_lease(task_id, lease_token) -> timestamptz
 * Called by: long-running tasks to keep their lease. Raises SPT01 when the lease is not held.
 */
create or replace function private.extend_lease(p_task_id bigint, p_lease_token uuid) returns timestamptz
language plpgsql security definer set search_path = '' as $$
declare until_ts timestamptz;
begin
  update private.job_tasks t set lease_until = now() + make_interval(secs => s.lease_seconds), updated_at = now()
    from private.stages s
   where t.id = p_task_id and t.state = 'running' and t.lease_token = p_lease_token and s.stage = t.stage
  returning t.lease_until into until_ts;
  if until_ts is null then
    raise exception using errcode = 'SPT01', message = format('task %s is not running under this lease', p_task_id);
  end if;
  return until_ts;
end $$;

revoke all on function private.kick(text, bigint[], text), private.claim_tasks(text, bigint[], integer, text),
  private.apply_job_counters(uuid, text, jsonb), private.complete_task(bigint, uuid, jsonb, jsonb, jsonb, numeric),
  private.fail_job(uuid, text, text, text), private.fail_task(bigint, uuid, text, text, boolean),
  private.extend_lease(bigint, uuid)
  from public, anon, authenticated;
grant execute on function private.claim_tasks(text, bigint[], integer, text),
  private.complete_task(bigint, uuid, jsonb, jsonb, jsonb, numeric), private.fail_task(bigint, uuid, text, text, boolean),
  private.extend_lease(bigint, uuid)
  to service_role;
