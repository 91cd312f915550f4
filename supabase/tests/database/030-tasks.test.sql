-- The task API and the job state machine, step by step.
begin;
select plan(29);

select tests.create_user('carol') as carol \gset
select tests.create_user('dave') as dave \gset
update private.pipeline_rollout set candidate_percent = 0;  -- everyone on the stable version (v1)
insert into public.processing_jobs (user_id, storage_path) values (:'carol', 'imports/' || :'carol' || '/e.zip')
returning id as job \gset

select is((select pipeline_version from public.processing_jobs where id = :'job'), 'v1', 'candidate_percent 0 routes to the stable version');
select is((select count(*)::int from private.job_tasks where job_id = :'job' and task_key = 'ingest:start'), 1, 'the insert enqueued the first stage task');
select is((select count(*)::int from private.kicks where stage = 'ingest' and :'job' is not null and reason = 'enqueue'
            and task_ids && array(select id from private.job_tasks where job_id = :'job')), 1, 'and kicked the stage function');
select is((select convert_from(body, 'UTF8') like '%"task_ids"%' and convert_from(body, 'UTF8') not like '%imports/%' from net.http_request_queue
            order by id desc limit 1), true, 'the kick carries task ids, not content');
select private.enqueue_stage(:'job', 'ingest');
select is((select count(*)::int from private.job_tasks where job_id = :'job'), 1, 'enqueueing twice is a no-op');

-- claim
create temp table claimed as select * from private.claim_tasks('ingest', null, 10, 'w1');
select is((select count(*)::int from claimed), 1, 'claim returns the due task');
select is((select attempts from claimed), 1, 'claim bumps attempts');
select ok((select lease_until > now() + interval '100 seconds' from claimed), 'claim sets a lease longer than a function run');
select is((select count(*)::int from private.claim_tasks('ingest', null, 10, 'w2')), 0, 'a running task is not claimed twice');

-- complete
select throws_ok(format($$ select private.complete_task(%s, gen_random_uuid()) $$, (select id from claimed)),
  'SPT01', null, 'completion without the lease is refused');
select lives_ok(format($$ select private.complete_task(%s, %L, '{"ok": true}', '[]', '{"conversation_count": 3, "message_count": 40}') $$,
  (select id from claimed), (select lease_token from claimed)), 'completion with the lease succeeds');
select is((select status from public.processing_jobs where id = :'job'), 'quick_pass', 'the last open task of a stage advances the job');
select is((select conversation_count || '/' || message_count from public.processing_jobs where id = :'job'), '3/40', 'counters applied');
select is((select count(*)::int from private.job_tasks where job_id = :'job' and task_key = 'quick_pass:start'), 1, 'the next stage was enqueued');
select throws_ok(format($$ select private.complete_task(%s, %L) $$, (select id from claimed), (select lease_token from claimed)),
  'SPT01', null, 'a second completion is refused');
select ok((select progress_percent >= 30 from public.processing_jobs where id = :'job'), 'progress moved to the new stage');
update public.processing_jobs set progress_percent = 5 where id = :'job';
select ok((select progress_percent >= 30 from public.processing_jobs where id = :'job'), 'progress never goes back');

-- failures, backoff, dead letter
truncate claimed;
insert into claimed select * from private.claim_tasks('quick_pass', null, 1, 'w1');
select is(private.fail_task((select id from claimed), (select lease_token from claimed), 'PROVIDER_ERROR', 'model said no', true),
  'failed', 'a retriable failure goes back to the queue');
select ok((select run_after > now() from private.job_tasks where id = (select id from claimed)), 'with a backoff delay');
select is((select count(*)::int from private.claim_tasks('quick_pass', null, 1, 'w1')), 0, 'not claimable before run_after');
-- spend the remaining attempts
do $$
declare t private.job_tasks;
begin
  for i in 1..10 loop
    update private.job_tasks set run_after = now() where stage = 'quick_pass' and state = 'failed';
    select * into t from private.claim_tasks('quick_pass', null, 1, 'w1');
    exit when t.id is null;
    perform private.fail_task(t.id, t.lease_token, 'PROVIDER_ERROR', 'model said no', true);
  end loop;
end $$;
select is((select state from private.job_tasks where job_id = :'job' and stage = 'quick_pass'), 'dead', 'dead after max_attempts');
select is((select status || ' ' || error_code || ' ' || failed_stage from public.processing_jobs where id = :'job'),
  'failed PROVIDER_ERROR quick_pass', 'the job failed with the task''s code');
select matches((select error_message from public.processing_jobs where id = :'job'),
  '^Generating soulprint failed after 4 attempts: model said no$', 'with a readable message');

-- retry (as the owner, through the RPC)
select tests.authenticate_as(:'dave');
select throws_ok(format($$ select public.retry_job(%L) $$, :'job'), 'SPJ02', null, 'another user cannot retry it');
select tests.authenticate_as(:'carol');
select lives_ok(format($$ select public.retry_job(%L) $$, :'job'), 'the owner retries the failed job');
select tests.clear_authentication();
-- The failed import's partial rows were discarded when it failed, so the retry starts its upload
-- again as a new import; the failed job stays as history.
select id as retried from public.processing_jobs where user_id = :'carol' and id <> :'job' \gset
select is((select status || ' ' || attempts || ' ' || storage_path from public.processing_jobs where id = :'retried'),
  'ingest 2 ' || (select storage_path from public.processing_jobs where id = :'job'),
  'it starts again from the first stage as a new import of the same upload, attempt 2');
select is((select status || ' ' || (discarded_at is not null) from public.processing_jobs where id = :'job'), 'failed true',
  'the failed job stays failed, its rows discarded');

-- cancel: claims stop, late completions are refused
truncate claimed;
insert into claimed select * from private.claim_tasks('ingest', null, 1, 'w1');
select tests.authenticate_as(:'carol');
select is((select status from public.cancel_job(:'retried')), 'cancelled', 'the owner cancels');
select tests.clear_authentication();
select throws_ok(format($$ select private.complete_task(%s, %L) $$, (select id from claimed), (select lease_token from claimed)),
  'SPT01', null, 'a completion arriving after cancel is refused');

select * from finish();
rollback;
