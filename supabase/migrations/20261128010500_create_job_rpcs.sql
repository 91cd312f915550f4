-- Cancel and retry, callable by the job's owner (RPC under RLS) and by the service.
-- SQLSTATEs: SPJ01 another import is active; SPJ02 job not found (or not yours);
-- SPJ03 the job is not in a state that allows this.

/*
 * private.assert_job_caller(job) -> void
 * Users may act only on their own jobs; the service (no user role) on any.
 * Raises SPJ02 (reported as not found, so other users' job ids reveal nothing).
 */
create or replace function private.assert_job_caller(p_job public.processing_jobs, p_job_id uuid) returns void
language plpgsql stable security definer set search_path = '' as $$
begin
  if p_job.id is null
     or (coalesce(current_setting('role', true), 'none') in ('authenticated', 'anon')
         and p_job.user_id is distinct from auth.uid()) then
    raise exception using errcode = 'SPJ02', message = format('job %s not found', p_job_id);
  end if;
end $$;

/*
 * public.cancel_job(job_id) -> public.processing_jobs
 * Ends an active job as `cancelled`: open tasks become `cancelled`, so nothing claims them, and
 * completions still in flight are refused (SPT02) and roll back. Idempotent on a cancelled job.
 * Raises SPJ02 (not found / not yours), SPJ03 (already complete or failed).
 */
create or replace function public.cancel_job(job_id uuid) returns public.processing_jobs
language plpgsql security definer set search_path = '' as $$
declare job public.processing_jobs;
begin
  select * into job from public.processing_jobs j where j.id = cancel_job.job_id for no key update;
  perform private.assert_job_caller(job, cancel_job.job_id);
  if job.status = 'cancelled' then return job; end if;
  if job.status in ('complete', 'failed') then
    raise exception using errcode = 'SPJ03', message = format('job %s is already %s', job.id, job.status);
  end if;
  update private.job_tasks set state = 'cancelled', lease_until = null, lease_token = null, updated_at = now()
   where private.job_tasks.job_id = job.id and state in ('pending', 'failed', 'running');
  update public.processing_jobs set status = 'cancelled' where id = job.id returning * into job;
  return job;
end $$;
comment on function public.cancel_job(uuid) is
  'Cancels an active job (owner or service). Open tasks are cancelled; late completions are refused. '
  'Idempotent. Raises SPJ02 not found, SPJ03 already complete/failed.';

/*
 * public.retry_job(job_id) -> public.processing_jobs
 * Restarts a failed job from the stage it failed in: that stage's dead tasks go back to the
 * queue with fresh attempts; tasks already done (in that stage and all earlier stages) are
 * kept. Raises SPJ02 (not found / not yours), SPJ03 (not failed), SPJ01 (another import active).
 */
create or replace function public.retry_job(job_id uuid) returns public.processing_jobs
language plpgsql security definer set search_path = '' as $$
declare
  job public.processing_jobs;
  ids bigint[];
begin
  select * into job from public.processing_jobs j where j.id = retry_job.job_id for no key update;
  perform private.assert_job_caller(job, retry_job.job_id);
  if job.status <> 'failed' or job.failed_stage is null then
    raise exception using errcode = 'SPJ03', message = format('job %s is %s; only failed jobs can be retried', job.id, job.status);
  end if;
  if exists (select from public.processing_jobs o where o.user_id = job.user_id and o.id <> job.id
              and o.status not in ('complete', 'failed', 'cancelled')) then
    raise exception using errcode = 'SPJ01', message = 'An import is already in progress for this account.';
  end if;
  update private.job_tasks set state = 'pending', attempts = 0, run_after = now(), lease_until = null,
         lease_token = null, updated_at = now()
   where private.job_tasks.job_id = job.id and stage = job.failed_stage and state in ('dead', 'failed', 'cancelled');
  update public.processing_jobs
     set status = job.failed_stage, failed_stage = null, error_code = null, error_message = null,
         attempts = attempts + 1, heartbeat_at = now()
   where id = job.id returning * into job;
  select array_agg(id order by id) into ids from private.job_tasks t
   where t.job_id = job.id and t.stage = job.status and t.state = 'pending';
  perform private.kick(job.status, ids, 'retry');
  return job;
end $$;
comment on function public.retry_job(uuid) is
  'Restarts a failed job from its failed stage, keeping completed work (owner or service). '
  'Raises SPJ02 not found, SPJ03 not failed, SPJ01 another import active.';

revoke all on function private.assert_job_caller(public.processing_jobs, uuid) from public, anon, authenticated;
revoke all on function public.cancel_job(uuid), public.retry_job(uuid) from public, anon;
grant execute on function public.cancel_job(uuid), public.retry_job(uuid) to authenticated, service_role;
