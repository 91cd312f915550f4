-- The sweeper's heartbeat no longer waits for a job row that someone else holds.
--
-- complete_task locks the job, then the task. The sweeper kicked due tasks first (row locks on
-- job_tasks: kicked_at, and a task claimed between its read and the kick is locked too) and only
-- then marked live jobs' heartbeats, waiting for each job row in turn: tasks, then job — the
-- reverse order. Under a 1 GB import (25 completions a second) the two deadlocked four times in
-- one run; PostgreSQL rolled back a completion, its invocation failed, and the task sat with its
-- lease until it expired (200 s; that import took 365 s instead of ~150). A job row that is
-- locked right now is being written by a completion or a claim of that job, so the job is alive
-- and its heartbeat can wait for the next sweep: the update skips locked rows and never waits.

/*
 * private.sweep() -> jsonb {expired, rekicked_tasks, kicks, heartbeats}
 * Called by: pg_cron every 5 s. Expires lapsed leases (expire_lease: job first, like
 * complete_task), re-kicks due tasks of runnable jobs not kicked in the last 5 s, marks the
 * heartbeat of every live job with a running task whose row is not locked, and forgets kicks
 * older than a day.
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
   where j.id in (select l.id from public.processing_jobs l
                   where l.status not in ('complete', 'failed', 'cancelled')
                     and exists (select from private.job_tasks t where t.job_id = l.id and t.state = 'running')
                     for update skip locked);
  get diagnostics beats = row_count;

  delete from private.kicks where created_at < now() - interval '1 day';
  return jsonb_build_object('expired', expired, 'rekicked_tasks', rekicked, 'kicks', kicks, 'heartbeats', beats);
end $$;

revoke all on function private.sweep() from public, anon, authenticated;
