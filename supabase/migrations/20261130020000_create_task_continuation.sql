-- A task may hand its continuation off before its own work is done, so that the continuation runs
-- in parallel (ingest: a slice enqueues the next slice as soon as it knows where that starts, then
-- parses and writes its own). The continuation commits on its own; the task still commits its
-- results with private.complete_task, which may name the same continuation again (ignored).

/*
 * private.enqueue_continuation(task_id, lease_token, new_tasks) -> integer (tasks inserted)
 * Called by: stage functions, outside the transaction of the task's work. Inserts `new_tasks`
 * ([{task_key, payload}], the task's own stage; an existing task_key is left as it is) for a
 * task running under this lease whose job is at the task's stage; the insert kicks them.
 * Raises SPT01 when the lease is not held, SPT02 when the job left the stage, 22023 on a task
 * without task_key or of another stage. Idempotent per task_key.
 */
create or replace function private.enqueue_continuation(p_task_id bigint, p_lease_token uuid, p_new_tasks jsonb)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  task private.job_tasks;
  job_status text;
  n integer;
begin
  select * into task from private.job_tasks where id = p_task_id;
  if task.id is null or task.state <> 'running' or task.lease_token is distinct from p_lease_token then
    raise exception using errcode = 'SPT01', message = format('task %s is not running under this lease', p_task_id);
  end if;
  select status into job_status from public.processing_jobs where id = task.job_id;
  if job_status is distinct from task.stage then
    raise exception using errcode = 'SPT02',
      message = format('job %s is %s, no longer at stage %s', task.job_id, job_status, task.stage);
  end if;
  if exists (select from jsonb_array_elements(p_new_tasks) e
              where coalesce(e ->> 'task_key', '') = '' or coalesce(e ->> 'stage', task.stage) <> task.stage) then
    raise exception using errcode = '22023', message = 'new tasks need a task_key and must belong to the same stage';
  end if;
  with ins as (
    insert into private.job_tasks (job_id, stage, task_key, payload, max_attempts)
    select task.job_id, task.stage, e ->> 'task_key', coalesce(e -> 'payload', '{}'::jsonb), s.max_attempts
      from jsonb_array_elements(p_new_tasks) e, private.stages s
     where s.stage = task.stage
    on conflict (job_id, task_key) do nothing
    returning 1)
  select count(*) into n from ins;
  return n;
end $$;

revoke all on function private.enqueue_continuation(bigint, uuid, jsonb) from public, anon, authenticated;
grant execute on function private.enqueue_continuation(bigint, uuid, jsonb) to service_role;
