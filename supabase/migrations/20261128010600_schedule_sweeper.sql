-- The sweeper: the safety net under at-most-once kicks and crashing invocations.

/*
 * private.expire_lease(task_id) -> text
 * A running task whose lease ran out (its invocation crashed or was killed) goes back to the
 * queue with backoff, or dies when its attempts are spent (job failed, code LEASE_EXPIRED).
 * Locks the job first, like complete_task, so the two never deadlock. Returns the new state or
 * 'ignored' when the task is no longer expired.
 */
create or replace function private.expire_lease(p_task_id bigint) returns text
language plpgsql security definer set search_path = '' as $$
declare
  token uuid;
begin
  perform 1 from public.processing_jobs
   where id = (select job_id from private.job_tasks where id = p_task_id) for no key update;
  select lease_token into token from private.job_tasks
   where id = p_task_id and state = 'running' and lease_until < now() for update;
  if token is null then return 'ignored'; end if;
  return private.fail_task(p_task_id, token, 'LEASE_EXPIRED',
    'the worker stopped before finishing (crash, kill or platform limit)', true);
end $$;

/*
 * private.sweep() -> jsonb
 * Called by: pg_cron every few seconds (and by tests). 1) expires leases; 2) re-kicks due
 * tasks whose kick was lost or never sent (not kicked in the last 5 s); 3) heart-beats active
 * jobs that have running tasks; 4) prunes kick records older than a day.
 * Returns counts {expired, rekicked_tasks, kicks, heartbeats}. Safe to run concurrently.
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
      join public.processing_jobs j on j.id = t.job_id and j.status = t.stage
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

/*
 * private.sweep_for(seconds, every) procedure
 * For pg_cron versions without second-level schedules (< 1.5): one run per minute that sweeps
 * every `every` seconds for `seconds`, committing after each sweep so its kicks go out.
 * (No SET clause: a procedure with one cannot commit. Not security definer; names qualified.)
 */
create or replace procedure private.sweep_for(p_seconds integer, p_every integer)
language plpgsql as $$
declare t_end timestamptz := clock_timestamp() + make_interval(secs => p_seconds);
begin
  loop
    perform private.sweep();
    commit;
    exit when clock_timestamp() + make_interval(secs => p_every) > t_end;
    perform pg_catalog.pg_sleep(p_every);
  end loop;
end $$;

revoke all on function private.expire_lease(bigint), private.sweep() from public, anon, authenticated;
revoke all on procedure private.sweep_for(integer, integer) from public, anon, authenticated;

-- Every 5 seconds: natively where pg_cron >= 1.5 (Supabase), else a minutely job that loops.
do $$
declare v integer[] := string_to_array(split_part(
  (select extversion from pg_extension where extname = 'pg_cron'), '-', 1), '.')::integer[];
begin
  perform cron.unschedule(jobid) from cron.job where jobname = 'soulprint-sweeper';
  if v >= array[1, 5] then
    perform cron.schedule('soulprint-sweeper', '5 seconds', 'select private.sweep()');
  else
    perform cron.schedule('soulprint-sweeper', '* * * * *', 'call private.sweep_for(55, 5)');
  end if;
end $$;
