-- The completion webhook's outbox: privileges, the kick on insert, claiming, backoff, give-up,
-- the sweeper and the ops retry. Kicks only reach pg_net's queue: the transaction rolls back.
begin;
select plan(32);

-- Privileges: the pipeline's machinery only.
select ok((select relrowsecurity from pg_class where oid = 'private.webhook_deliveries'::regclass), 'RLS is enabled');
select ok(not has_table_privilege('anon', 'private.webhook_deliveries', 'select'), 'anon cannot read deliveries');
select ok(not has_table_privilege('authenticated', 'private.webhook_deliveries', 'select'), 'users cannot read deliveries');
select ok(not has_table_privilege('authenticated', 'private.webhook_deliveries', 'insert, update, delete'),
  'users cannot write deliveries');
select ok(not has_table_privilege('anon', 'private.webhook_deliveries', 'insert, update, delete'), 'anon cannot write deliveries');
select ok(has_table_privilege('service_role', 'private.webhook_deliveries', 'select'), 'the service role reads them');
select ok(not has_function_privilege('authenticated', 'private.claim_webhook_deliveries(bigint[], integer, integer)', 'execute')
  and not has_function_privilege('anon', 'private.record_webhook_attempt(bigint, uuid, text, boolean, integer, text, text, integer)', 'execute')
  and not has_function_privilege('authenticated', 'private.retry_webhook(uuid)', 'execute')
  and not has_function_privilege('anon', 'private.sweep_webhooks()', 'execute'),
  'neither anon nor users can call the outbox API');
select ok((select bool_and(prosecdef and proconfig @> array['search_path=""']) from pg_proc
            where oid in ('private.claim_webhook_deliveries(bigint[], integer, integer)'::regprocedure,
                          'private.record_webhook_attempt(bigint, uuid, text, boolean, integer, text, text, integer)'::regprocedure,
                          'private.retry_webhook(uuid)'::regprocedure, 'private.sweep_webhooks()'::regprocedure,
                          'private.webhook_deliveries__kick()'::regprocedure)),
  'security definer functions pin an empty search_path');
select ok(not has_table_privilege('anon', 'ops.undelivered_webhooks', 'select')
  and not has_table_privilege('authenticated', 'ops.undelivered_webhooks', 'select'), 'the ops view is not for users');
select isnt_empty($$ select from cron.job where jobname = 'soulprint-webhooks' $$, 'the webhook sweeper is scheduled');

-- The outbox row kicks notify and carries an id derived from the job.
select tests.create_user('wanda') as wanda \gset
select private.start_selftest(:'wanda', 1, 0) as job \gset
insert into private.webhook_deliveries (job_id, payload) values (:'job', '{"type": "import.completed"}') returning id as d \gset
select is((select webhook_id from private.webhook_deliveries where id = :d), 'msg_' || :'job', 'webhook id is msg_<job id>');
select is((select url from net.http_request_queue order by id desc limit 1),
  (select decrypted_secret from vault.decrypted_secrets where name = 'project_url') || '/functions/v1/notify',
  'the insert kicks notify');
select is((select convert_from(body, 'utf8')::jsonb from net.http_request_queue order by id desc limit 1),
  jsonb_build_object('delivery_ids', jsonb_build_array(:d)), 'with the delivery id only');
insert into private.webhook_deliveries (job_id, payload) values (:'job', '{}') on conflict (job_id) do nothing;
select is((select count(*)::int from private.webhook_deliveries where job_id = :'job'), 1, 'one delivery per job');

-- Claiming: once, with a lease; a stale lease records nothing.
create temp table c as select * from private.claim_webhook_deliveries(array[:d]::bigint[], 1);
select is((select state || ' ' || attempts from c where id = :d), 'sending 1', 'claimed, first attempt');
select is((select count(*)::int from private.claim_webhook_deliveries(null, 5) where id = :d), 0, 'never claimed twice');
select is(private.record_webhook_attempt(:d, gen_random_uuid(), 'https://h.test', false, 500, 'WEBHOOK_HTTP_STATUS', 'HTTP 500', 3),
  'ignored', 'a stale sender changes nothing');

-- A failed attempt: logged, and retried after ~30 s (jitter 0.75..1.25).
select is(private.record_webhook_attempt(:d, (select lease_token from c where id = :d), 'https://h.test', false, 500, 'WEBHOOK_HTTP_STATUS',
  'HTTP 500', 3), 'pending', 'a failed attempt is retried');
select ok((select next_attempt_at between now() + interval '22 seconds' and now() + interval '38 seconds'
             and kicked_at is null and last_status = 500 from private.webhook_deliveries where id = :d),
  'the retry is scheduled about 30 s out and needs a new kick');
select is((select outcome || ' ' || status_code || ' ' || error_code || ' ' || attempts from private.notifications where delivery_id = :d),
  'failed 500 WEBHOOK_HTTP_STATUS 1', 'the attempt is logged');

-- The sweeper kicks only due deliveries, and not twice in a row.
select is(private.sweep_webhooks(), 0, 'nothing due yet');
update private.webhook_deliveries set next_attempt_at = now() - interval '1 second' where id = :d;
select is(private.sweep_webhooks(), 1, 'a due retry is kicked');
select is(private.sweep_webhooks(), 0, 'not again while the kick is fresh');

-- Backoff grows and is capped at an hour.
truncate c;
insert into c select * from private.claim_webhook_deliveries(array[:d]::bigint[], 1);
update private.webhook_deliveries set attempts = 12 where id = :d;
select private.record_webhook_attempt(:d, (select lease_token from c where id = :d), 'https://h.test', false, null, 'WEBHOOK_TIMEOUT', 'slow', 10000);
select ok((select next_attempt_at <= now() + interval '75 minutes' and next_attempt_at >= now() + interval '45 minutes'
             from private.webhook_deliveries where id = :d), 'the delay is capped at 1 h (with jitter)');

-- Past the deadline: given up, listed for ops, restartable.
update private.webhook_deliveries set next_attempt_at = now(), give_up_after = now() + interval '5 seconds' where id = :d;
truncate c;
insert into c select * from private.claim_webhook_deliveries(array[:d]::bigint[], 1);
select is(private.record_webhook_attempt(:d, (select lease_token from c where id = :d), 'https://h.test', false, 503, 'WEBHOOK_HTTP_STATUS',
  'HTTP 503', 3), 'given_up', 'no attempt is scheduled past give_up_after');
select is((select state || ' ' || last_status from ops.undelivered_webhooks where job_id = :'job'), 'given_up 503',
  'ops see the given-up delivery');
select ok(private.retry_webhook(:'job'), 'ops restart it');
select is((select state || ' ' || attempts from private.webhook_deliveries where id = :d), 'pending 0', 'due now with a fresh budget');
select ok(not private.retry_webhook(:'job'), 'only a given-up delivery is restarted');

-- Delivered: settled for good.
truncate c;
insert into c select * from private.claim_webhook_deliveries(array[:d]::bigint[], 1);
select is(private.record_webhook_attempt(:d, (select lease_token from c where id = :d), 'https://h.test', true, 204, null, null, 2),
  'delivered', 'a 2xx delivers');
select ok((select delivered_at is not null and given_up_at is null from private.webhook_deliveries where id = :d),
  'delivered_at is stamped');
select is((select count(*)::int from private.claim_webhook_deliveries(null, 5) where id = :d), 0, 'a delivered one is never sent again');

select * from finish();
rollback;
