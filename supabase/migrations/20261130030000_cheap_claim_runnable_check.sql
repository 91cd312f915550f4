-- Claiming a task no longer costs a function call per open task.
--
-- private.claim_tasks checked private.task_runnable for every open task of the stage, twice; the
-- check is a security definer function (never inlined, ~3 us a call with its settings switched),
-- so with 1,200 embed tasks open each claim took 4.7 ms, ~16 s of database CPU per GB imported.
-- The common case, the job being at the task's stage, is now tested first in the query itself
-- (OR evaluates left to right and stops at true); the function only decides the early-start case.
-- Otherwise as in 20261130010000_start_quick_pass_early.sql.

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
       and (j.status = p_stage or private.task_runnable(j.status, p_stage, t.task_key))
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
           and (pj.status = p_stage or private.task_runnable(pj.status, p_stage, t.task_key))
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
