-- A claim reads each job with open tasks once, not once per open task.
--
-- Profiled on a 1 GB import: each claim of an embed or extract task joined every open task of the
-- stage (~1,000) to its job row, and that row, rewritten by every completion, sat at the end of a
-- chain of versions: 18,000-32,000 buffer reads and ~30 ms a claim, 3,400 claims an import; and it
-- called private.task_runnable (a security definer function: never inlined, ~3 us a call) for every
-- open task, twice. The open tasks are now counted per job before each job row is read, and the
-- common case, the job being at the task's stage, is tested in the query itself before the function
-- (OR evaluates left to right and stops at true), which then only decides the early-start case.
-- Otherwise as in 20261130010000_start_quick_pass_early.sql, except that a job's running tasks all
-- count against max_running_per_job (the per-task runnable check no longer hides any from the count).

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
    -- The stage's open tasks counted per job first, then each job read once: the job row is
    -- rewritten on every task completion (progress, heartbeat), so reading it once per task
    -- walked its chain of versions for each of a large stage's ~1,000 open tasks (32,000 buffer
    -- reads a claim). A job qualifies when it is at the stage or may start it early; the per-task
    -- check below still decides which of its tasks are runnable.
    select c.job_id, j.status, c.running
      from (select t.job_id,
                   count(*) filter (where t.state = 'running' and t.lease_until > now()) as running,
                   count(*) filter (where t.state in ('pending', 'failed') and t.run_after <= now()) as due
              from private.job_tasks t
             where t.stage = p_stage and t.state in ('pending', 'failed', 'running')
             group by t.job_id) c
      join public.processing_jobs j on j.id = c.job_id
     where c.due > 0 and c.running < cfg.max_running_per_job
       and (j.status = p_stage or private.task_runnable(j.status, p_stage, p_stage || ':start'))
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
