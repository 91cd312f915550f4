-- The sweeper: expired leases, lost kicks, the rollout hash, exactly-once advance bookkeeping.
begin;
select plan(10);

select tests.create_user('erin') as erin \gset
select private.start_selftest(:'erin', 3, 0) as job \gset

-- A crashed invocation: its lease runs out.
create temp table c as select * from private.claim_tasks('selftest_fanout', null, 1, 'w');
update private.job_tasks set lease_until = now() - interval '1 second' where id = (select id from c);
-- At least this one: the sweep is global, and an earlier test's killed invocation may hold a lease
-- that lapses now too (the next assertion checks this task).
select ok((private.sweep() ->> 'expired')::int >= 1, 'the sweeper expires a lapsed lease');
select is((select state || ' ' || last_error_code from private.job_tasks where id = (select id from c)), 'failed LEASE_EXPIRED',
  'the task goes back to the queue, with the reason');

-- A lost kick: a due task nobody claimed is kicked again.
update private.job_tasks set run_after = now(), kicked_at = now() - interval '1 minute' where id = (select id from c);
select ok((private.sweep() ->> 'rekicked_tasks')::int >= 1, 'the sweeper re-kicks due, unclaimed tasks');
select is((select count(*)::int from private.kicks where reason = 'sweep' and (select id from c) = any(task_ids)), 1, 'recorded as a sweep kick');
select is((private.sweep() ->> 'rekicked_tasks')::int, 0, 'not again while the kick is fresh');

-- A stale completion (the task's lease expired and was reclaimed) is refused.
update private.job_tasks set run_after = now() where id = (select id from c);
create temp table c2 as select * from private.claim_tasks('selftest_fanout', null, 1, 'w2');
select throws_ok(format($$ select private.complete_task(%s, %L) $$, (select id from c), (select lease_token from c)),
  'SPT01', null, 'the first, expired claim can no longer complete');
select lives_ok(format($$ select private.complete_task(%s, %L, null, '[{"task_key": "item:0"}, {"task_key": "item:0"}, {"task_key": "item:1"}]') $$,
  (select id from c2), (select lease_token from c2)), 'the new claim completes and fans out');
select is((select count(*)::int from private.job_tasks where job_id = :'job' and task_key like 'item:%'), 2, 'duplicate fan-out keys are ignored');

-- A job failed under a running task: its completion is refused with SPT02.
truncate c;
insert into c select * from private.claim_tasks('selftest_fanout', null, 1, 'w');
select private.fail_job(:'job', 'selftest_fanout', 'INTERNAL', 'stopped by test');
select throws_ok(format($$ select private.complete_task(%s, %L) $$, (select id from c), (select lease_token from c)),
  'SPT02', null, 'completion for a job that left the stage is refused');

select ok((select bool_and(private.rollout_bucket(gen_random_uuid()) between 0 and 99) from generate_series(1, 200)),
  'rollout buckets are in 0..99');

select * from finish();
rollback;
