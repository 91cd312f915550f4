-- The outbox API the notify function uses: claim due deliveries, record each attempt, and a
-- kick on insert so a delivery starts as soon as finalize commits.

/*
 * private.webhook_deliveries__kick() trigger, before insert
 * Kicks the notify function with the new delivery's id (pg_net: sent after commit, at most
 * once; the sweeper re-kicks what a lost kick leaves behind) and stamps kicked_at.
 */
create or replace function private.webhook_deliveries__kick() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform util.invoke_edge_function('notify', jsonb_build_object('delivery_ids', jsonb_build_array(new.id)), 60000);
  new.kicked_at := now();
  return new;
end $$;
drop trigger if exists webhook_deliveries_100_kick on private.webhook_deliveries;
create trigger webhook_deliveries_100_kick before insert on private.webhook_deliveries
  for each row execute function private.webhook_deliveries__kick();

/*
 * private.claim_webhook_deliveries(ids, limit, lease_seconds default 60) -> setof private.webhook_deliveries
 * Called by: the notify function. Claims up to `limit` due deliveries (pending and due, or
 * sending under a lapsed lease: the sender died mid-attempt) with `for update skip locked`,
 * bumps attempts and sets a fresh lease. `ids` (from the kick) go first. A delivery is never
 * claimed twice at once.
 */
create or replace function private.claim_webhook_deliveries(p_ids bigint[], p_limit integer, p_lease_seconds integer default 60)
returns setof private.webhook_deliveries
language sql security definer set search_path = '' as $$
  with due as (
    select id from private.webhook_deliveries
     where (state = 'pending' and next_attempt_at <= now()) or (state = 'sending' and lease_until < now())
     order by (id = any(coalesce(p_ids, '{}'))) desc, next_attempt_at, id
     limit greatest(p_limit, 0)
       for update skip locked)
  update private.webhook_deliveries d
     set state = 'sending', attempts = d.attempts + 1, lease_token = gen_random_uuid(),
         lease_until = now() + make_interval(secs => p_lease_seconds), updated_at = now()
    from due where d.id = due.id
  returning d.*;
$$;
comment on function private.claim_webhook_deliveries(bigint[], integer, integer) is
  'Claims due webhook deliveries (skip locked), bumps attempts, sets a lease; kicked ids first.';

/*
 * private.record_webhook_attempt(id, lease_token, url, delivered, status, error_code, error, duration_ms) -> text
 * Called by: the notify function after each attempt. Logs the attempt in private.notifications
 * and settles the delivery: 'delivered'; or 'pending' again after
 * min(1 h, 30 s * 2^(attempts-1)) * jitter(0.75..1.25); or 'given_up' when its attempts are
 * spent or the next one would fall after give_up_after. Returns the new state, or 'ignored'
 * when the lease is not held (a stale sender: its outcome changes nothing).
 */
create or replace function private.record_webhook_attempt(
  p_id bigint, p_lease_token uuid, p_url text, p_delivered boolean, p_status integer,
  p_error_code text, p_error text, p_duration_ms integer
) returns text
language plpgsql security definer set search_path = '' as $$
declare
  d private.webhook_deliveries;
  next_at timestamptz;
  new_state text;
begin
  select * into d from private.webhook_deliveries where id = p_id for update;
  if d.id is null or d.state <> 'sending' or d.lease_token is distinct from p_lease_token then
    return 'ignored';
  end if;
  insert into private.notifications (job_id, delivery_id, url, attempts, status_code, outcome, error_code, error, duration_ms)
  values (d.job_id, d.id, coalesce(p_url, ''), d.attempts, p_status, case when p_delivered then 'delivered' else 'failed' end,
          p_error_code, left(p_error, 2000), p_duration_ms);
  next_at := now() + make_interval(secs => least(3600, 30 * power(2, d.attempts - 1)) * (0.75 + random() * 0.5));
  new_state := case when p_delivered then 'delivered'
                    when d.attempts >= d.max_attempts or next_at > d.give_up_after then 'given_up'
                    else 'pending' end;
  update private.webhook_deliveries
     set state = new_state, lease_token = null, lease_until = null, last_status = p_status,
         last_error_code = p_error_code, last_error = left(p_error, 2000),
         -- A retry needs a fresh kick: the sweeper sends it once next_attempt_at is due.
         next_attempt_at = case when new_state = 'pending' then next_at else next_attempt_at end, kicked_at = null,
         delivered_at = case when p_delivered then now() end,
         given_up_at = case when new_state = 'given_up' then now() end,
         updated_at = now()
   where id = p_id;
  return new_state;
end $$;
comment on function private.record_webhook_attempt(bigint, uuid, text, boolean, integer, text, text, integer) is
  'Logs one webhook attempt and settles the delivery (delivered, pending with capped backoff, or given_up). '
  'Returns the new state, or ignored when the lease is not held.';

/*
 * private.retry_webhook(job_id) -> boolean
 * Called by: ops, for a delivery that was given up on (the receiver is fixed). Makes it due now
 * with a fresh day and attempt budget, and kicks notify. Returns false when the job has no
 * given-up delivery.
 */
create or replace function private.retry_webhook(p_job_id uuid) returns boolean
language plpgsql security definer set search_path = '' as $$
declare v_id bigint;
begin
  update private.webhook_deliveries
     set state = 'pending', attempts = 0, next_attempt_at = now(), give_up_after = now() + interval '24 hours',
         given_up_at = null, kicked_at = now(), updated_at = now()
   where job_id = p_job_id and state = 'given_up'
  returning id into v_id;
  if v_id is null then return false; end if;
  perform util.invoke_edge_function('notify', jsonb_build_object('delivery_ids', jsonb_build_array(v_id)), 60000);
  return true;
end $$;
comment on function private.retry_webhook(uuid) is
  'Restarts a given-up webhook delivery of the job (due now, fresh budget) and kicks notify.';

revoke all on function private.webhook_deliveries__kick(), private.claim_webhook_deliveries(bigint[], integer, integer),
  private.record_webhook_attempt(bigint, uuid, text, boolean, integer, text, text, integer), private.retry_webhook(uuid)
  from public, anon, authenticated;
grant execute on function private.claim_webhook_deliveries(bigint[], integer, integer),
  private.record_webhook_attempt(bigint, uuid, text, boolean, integer, text, text, integer), private.retry_webhook(uuid)
  to service_role;
