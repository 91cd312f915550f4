-- Retries of the completion webhook: a cron job that kicks notify for due deliveries (retries
-- whose backoff ran out, kicks that pg_net lost, senders that died mid-attempt).

/*
 * private.sweep_webhooks() -> integer
 * Called by: pg_cron every 10 s (and by tests). Kicks notify with the ids of due deliveries not
 * kicked in the last 5 s, 50 ids a kick, at most 200 a sweep (notify also claims any other due
 * rows while it runs). Stamps kicked_at. Returns the number of deliveries kicked. Safe to run
 * concurrently (a double kick only wakes notify twice; claiming is skip-locked).
 */
create or replace function private.sweep_webhooks() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  r record;
  n integer := 0;
begin
  for r in
    select array_agg(id order by rn) as ids from (
      select id, row_number() over (order by next_attempt_at, id) as rn
        from private.webhook_deliveries
       where ((state = 'pending' and next_attempt_at <= now()) or (state = 'sending' and lease_until < now()))
         and (kicked_at is null or kicked_at < now() - interval '5 seconds')
       order by next_attempt_at, id limit 200) due
     group by (rn - 1) / 50
  loop
    perform util.invoke_edge_function('notify', jsonb_build_object('delivery_ids', to_jsonb(r.ids)), 60000);
    update private.webhook_deliveries set kicked_at = now() where id = any(r.ids);
    n := n + array_length(r.ids, 1);
  end loop;
  return n;
end $$;
comment on function private.sweep_webhooks() is
  'Kicks notify for due webhook deliveries not kicked in the last 5 s. Returns how many were kicked.';

/*
 * private.sweep_webhooks_for(seconds, every) procedure
 * For pg_cron versions without second-level schedules (< 1.5): one run per minute that sweeps
 * every `every` seconds for `seconds`, committing after each sweep so its kicks go out.
 * (No SET clause: a procedure with one cannot commit. Not security definer; names qualified.)
 */
create or replace procedure private.sweep_webhooks_for(p_seconds integer, p_every integer)
language plpgsql as $$
declare t_end timestamptz := clock_timestamp() + make_interval(secs => p_seconds);
begin
  loop
    perform private.sweep_webhooks();
    commit;
    exit when clock_timestamp() + make_interval(secs => p_every) > t_end;
    perform pg_catalog.pg_sleep(p_every);
  end loop;
end $$;

revoke all on function private.sweep_webhooks() from public, anon, authenticated;
revoke all on procedure private.sweep_webhooks_for(integer, integer) from public, anon, authenticated;

-- Every 10 seconds (backoff starts at 30 s): natively where pg_cron >= 1.5, else minutely looping.
do $$
declare v integer[] := string_to_array(split_part(
  (select extversion from pg_extension where extname = 'pg_cron'), '-', 1), '.')::integer[];
begin
  perform cron.unschedule(jobid) from cron.job where jobname = 'soulprint-webhooks';
  if v >= array[1, 5] then
    perform cron.schedule('soulprint-webhooks', '10 seconds', 'select private.sweep_webhooks()');
  else
    perform cron.schedule('soulprint-webhooks', '* * * * *', 'call private.sweep_webhooks_for(55, 10)');
  end if;
end $$;
