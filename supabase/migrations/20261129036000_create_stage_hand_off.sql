-- A stage function ends its request when its CPU or wall budget is spent (hosted limits: 2 s CPU,
-- 150 s wall), even with tasks of its stage still due. It then hands off: one kick for those tasks,
-- so the next invocation starts at once instead of when the sweeper next finds them (up to ~10 s).

alter table private.kicks drop constraint if exists kicks_reason_check,
  add constraint kicks_reason_check check (reason in ('enqueue', 'sweep', 'retry', 'hand_off'));

/*
 * private.hand_off(stage) -> integer (kicks sent: 0 or 1)
 * Called by: stage functions that stop on budget. Kicks the stage's function once with up to a
 * batch of its due, unclaimed tasks (of jobs at that stage). Not idempotent (a kick is a wake-up).
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
      join public.processing_jobs j on j.id = t.job_id and j.status = t.stage
     where t.stage = p_stage and t.state in ('pending', 'failed') and t.run_after <= now()
     order by t.id limit cfg.batch_size) t;
  if ids is null then return 0; end if;
  return least(private.kick(p_stage, ids, 'hand_off'), 1);
end $$;

revoke all on function private.hand_off(text) from public, anon, authenticated;
grant execute on function private.hand_off(text) to service_role;
