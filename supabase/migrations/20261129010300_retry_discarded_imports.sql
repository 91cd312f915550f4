-- retry_job after generations: an import whose partial rows were discarded when it failed has
-- nothing to resume from, so retrying it starts the same upload again as a new import (a new
-- generation; the failed one stays as history). Imports whose work is intact (a current
-- generation, the diagnostic pipeline) resume from the failed stage as before. Retries are capped:
-- after 5 attempts the person has to start a new import.
-- SQLSTATE SPJ04: the retry limit is reached.

/*
 * public.retry_job(job_id) -> public.processing_jobs
 * Resumes a failed job from its failed stage (work intact), or starts its upload again as a new
 * import and returns that job (work discarded). Raises SPJ02 (not found / not yours), SPJ03 (not
 * failed), SPJ01 (another import active), SPJ04 (5 attempts used).
 */
create or replace function public.retry_job(job_id uuid) returns public.processing_jobs
language plpgsql security definer set search_path = '' as $$
declare
  job public.processing_jobs;
  ids bigint[];
  max_attempts constant integer := 5;
begin
  select * into job from public.processing_jobs j where j.id = retry_job.job_id for no key update;
  perform private.assert_job_caller(job, retry_job.job_id);
  if job.status <> 'failed' or job.failed_stage is null then
    raise exception using errcode = 'SPJ03', message = format('job %s is %s; only failed jobs can be retried', job.id, job.status);
  end if;
  if job.attempts >= max_attempts then
    raise exception using errcode = 'SPJ04',
      message = format('This import has been tried %s times; upload the export again to start a new import.', job.attempts);
  end if;
  if exists (select from public.processing_jobs o where o.user_id = job.user_id and o.id <> job.id
              and o.status not in ('complete', 'failed', 'cancelled')) then
    raise exception using errcode = 'SPJ01', message = 'An import is already in progress for this account.';
  end if;

  if job.discarded_at is not null then
    insert into public.processing_jobs (user_id, storage_path, file_type, pipeline_version, options)
    values (job.user_id, job.storage_path, job.file_type, job.pipeline_version, job.options)
    returning * into job;
    update public.processing_jobs set attempts = (select attempts + 1 from public.processing_jobs where id = retry_job.job_id)
     where id = job.id returning * into job;
    return job;
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
  'Retries a failed import (owner or service): resumes it when its work is intact, else starts its upload '
  'again as a new import (returned). Raises SPJ02 not found, SPJ03 not failed, SPJ01 another import active, '
  'SPJ04 retry limit (5 attempts).';
revoke all on function public.retry_job(uuid) from public, anon;
grant execute on function public.retry_job(uuid) to authenticated, service_role;
