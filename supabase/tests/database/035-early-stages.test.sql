-- The quick pass starts early: once ingest has read its window, while the job is still at ingest,
-- exactly once; it moves neither the job's status nor its progress; the later stages wait for
-- ingest; a refresh it adds waits for its turn; an early failure does not fail the import; a
-- cancel during the early pass refuses its completion and still discards everything. Extract's
-- planning task starts beside embed and stays runnable until extract's turn; the vector index is
-- built beside extract.
begin;
select plan(43);

-- A queue holding only this file's tasks (everything here is rolled back at the end).
delete from private.job_tasks where state in ('pending', 'failed', 'running');
update private.pipeline_rollout set candidate_percent = 100;  -- v2: ingest 0-20 %, quick_pass from 20 %

/* Claims and completes `steps` ingest tasks of the job, each adding the next slice unless it is the last. */
create function pg_temp.ingest(p_job uuid, p_steps integer, p_end boolean default false, p_convs integer default 10)
returns void language plpgsql as $$
declare t private.job_tasks;
begin
  for i in 1 .. p_steps loop
    select * into strict t from private.claim_tasks('ingest', null, 1, 'w');
    if t.job_id <> p_job then raise exception 'claimed another job''s task'; end if;
    perform private.complete_task(t.id, t.lease_token, '{}',
      case when p_end and i = p_steps then '[]'::jsonb
           else jsonb_build_array(jsonb_build_object('task_key', 'ingest:slice:' || t.id)) end,
      jsonb_build_object('conversation_count', p_convs), 0.01 * i);
  end loop;
end $$;

create temp table claimed (like private.job_tasks);
/* Claims one quick_pass task into `claimed`, the job's own first when it has one due (the kick's hint). */
create function pg_temp.claim_quick(p_job uuid) returns private.job_tasks language sql as $$
  delete from claimed;
  insert into claimed select * from private.claim_tasks('quick_pass',
    array(select id from private.job_tasks where job_id = p_job and stage = 'quick_pass'), 1, 'w') returning *;
$$;

-- 1. The window (v2's quick_pass: 8 ingest tasks or 1,000 conversations).
select tests.create_user('erin') as erin \gset
insert into public.processing_jobs (user_id, storage_path) values (:'erin', 'imports/' || :'erin' || '/e.zip')
returning id as job \gset
select pg_temp.ingest(:'job', 7);
select is((select count(*)::int from private.job_tasks where job_id = :'job' and stage = 'quick_pass'), 0,
  'before the window no quick pass task exists');
select pg_temp.ingest(:'job', 1);
select is((select count(*)::int from private.job_tasks where job_id = :'job' and task_key = 'quick_pass:start'), 1,
  'the task that reaches the window starts the quick pass');
select ok((select kicked_at is not null from private.job_tasks where job_id = :'job' and task_key = 'quick_pass:start'),
  'and kicks its function');
select pg_temp.ingest(:'job', 3);
select is((select count(*)::int from private.job_tasks where job_id = :'job' and stage = 'quick_pass'), 1,
  'later ingest tasks do not start it again');
select is((select status from public.processing_jobs where id = :'job'), 'ingest', 'the job is still at ingest');

-- 2. The early pass runs beside ingest and moves neither status nor progress.
select is((select task_key from pg_temp.claim_quick(:'job')), 'quick_pass:start', 'its first task is claimable while ingest runs');
select progress_percent as before_progress from public.processing_jobs where id = :'job' \gset
select is(private.complete_task((select id from claimed), (select lease_token from claimed), '{"window": true}',
    '[{"task_key": "quick_pass:refresh"}]') ->> 'advanced_to', null, 'its completion advances nothing');
select is((select status || ' ' || progress_percent from public.processing_jobs where id = :'job'),
  'ingest ' || :before_progress, 'status and progress stay ingest''s');
select is((select count(*)::int from pg_temp.claim_quick(:'job') where id is not null), 0,
  'a task it added waits for the stage''s turn');
select ok((select completed_at is not null from private.job_stage_runs where job_id = :'job' and stage = 'quick_pass') is false,
  'its stage run stays open while the refresh is due');
select is((select count(*)::int from private.job_tasks where job_id = :'job' and stage = 'chunk'), 0, 'chunk has not started');

-- 3. Ingest ends: the job goes to quick_pass for the refresh (kicked), then on.
select pg_temp.ingest(:'job', 1, true);
select is((select status from public.processing_jobs where id = :'job'), 'quick_pass', 'ingest''s end moves to the quick pass''s turn');
select is((select count(*)::int from private.kicks where stage = 'quick_pass' and reason = 'enqueue'
            and task_ids @> array(select id from private.job_tasks where job_id = :'job' and task_key = 'quick_pass:refresh')), 2,
  'the refresh is kicked at its turn (its insert''s kick found nothing to claim)');
select is((select task_key from pg_temp.claim_quick(:'job')), 'quick_pass:refresh', 'and is claimed then');
select is(private.complete_task((select id from claimed), (select lease_token from claimed)) ->> 'advanced_to', 'chunk',
  'its completion moves the job to chunk');

-- 4. Newest first: nothing left for the quick pass at ingest's end, so the job skips its turn.
select tests.create_user('frank') as frank \gset
insert into public.processing_jobs (user_id, storage_path) values (:'frank', 'imports/' || :'frank' || '/e.zip')
returning id as job2 \gset
select pg_temp.ingest(:'job2', 8);
select pg_temp.claim_quick(:'job2');
select private.complete_task((select id from claimed), (select lease_token from claimed));
select ok((select completed_at is not null from private.job_stage_runs where job_id = :'job2' and stage = 'quick_pass'),
  'a finished early stage closes its run');
select pg_temp.ingest(:'job2', 1, true);
select is((select status from public.processing_jobs where id = :'job2'), 'chunk', 'ingest''s end skips a finished quick pass');
select is(array(select to_status from private.job_events where job_id = :'job2' order by id), array['ingest', 'chunk'],
  'the timeline goes from ingest to chunk');
select is((select count(*)::int from private.job_tasks where job_id = :'job2' and stage = 'quick_pass'), 1,
  'the quick pass ran once');

-- 5. An early pass that dies does not fail the import; the quick pass runs at its turn.
select tests.create_user('gina') as gina \gset
insert into public.processing_jobs (user_id, storage_path) values (:'gina', 'imports/' || :'gina' || '/e.zip')
returning id as job3 \gset
select pg_temp.ingest(:'job3', 8);
select pg_temp.claim_quick(:'job3');
select is(private.fail_task((select id from claimed), (select lease_token from claimed), 'PROVIDER_ERROR', 'model said no', false),
  'dead', 'a non-retriable early failure is dead');
select is((select status from public.processing_jobs where id = :'job3'), 'ingest', 'but the import goes on');
select is((select task_key from private.job_tasks where id = (select id from claimed)), 'quick_pass:early',
  'kept for ops as quick_pass:early');
select pg_temp.ingest(:'job3', 2);
select is((select count(*)::int from private.job_tasks where job_id = :'job3' and stage = 'quick_pass'), 1,
  'it is not started again during ingest');
select pg_temp.ingest(:'job3', 1, true);
select is((select status || ' ' || (select state from private.job_tasks where job_id = :'job3' and task_key = 'quick_pass:start')
             from public.processing_jobs where id = :'job3'), 'quick_pass pending',
  'at ingest''s end the quick pass gets a fresh first task');

-- 6. A small export ends ingest before the window: the quick pass runs at its turn, as before.
select tests.create_user('hugo') as hugo \gset
insert into public.processing_jobs (user_id, storage_path) values (:'hugo', 'imports/' || :'hugo' || '/e.json')
returning id as job4 \gset
select pg_temp.ingest(:'job4', 1, true, 5000);
select is((select status || ' ' || (select count(*) from private.job_tasks where job_id = :'job4' and stage = 'quick_pass')
             from public.processing_jobs where id = :'job4'), 'quick_pass 1', 'one quick pass task, at its turn');

-- 7. Cancel during the early pass: its completion is refused and the import's rows are discarded.
select tests.create_user('iris') as iris \gset
insert into public.processing_jobs (user_id, storage_path) values (:'iris', 'imports/' || :'iris' || '/e.zip')
returning id as job5 \gset
select pg_temp.ingest(:'job5', 8);
insert into public.raw_conversations (user_id, conversation_id, job_id, source, title, created_at, message_count,
  user_message_count, assistant_message_count, messages)
values (:'iris', 'c1', :'job5', 'chatgpt', 't', now(), 1, 1, 0, '[]');
select pg_temp.claim_quick(:'job5');
select tests.authenticate_as(:'iris');
select is((select status from public.cancel_job(:'job5')), 'cancelled', 'the owner cancels during the early pass');
select tests.clear_authentication();
select throws_ok(format($$ select private.complete_task(%s, %L) $$, (select id from claimed), (select lease_token from claimed)),
  'SPT01', null, 'the early pass''s completion is refused (cancel ended its lease)');
select is((select count(*)::int from public.raw_conversations where job_id = :'job5')
          + (select count(*)::int from private.job_artifacts where job_id = :'job5'), 0, 'nothing of the import is left');

-- 8. Extract plans beside embed: its first task is runnable from embed until extract's turn, so one
--    claimed just before embed ended still completes.
select ok(private.task_runnable('embed', 'extract', 'extract:start'), 'extract:start is runnable at embed');
select ok(not private.task_runnable('chunk', 'extract', 'extract:start'), 'not before its window');
select ok(not private.task_runnable('consolidate', 'extract', 'extract:start'), 'not after its turn');
select ok(not private.task_runnable('embed', 'extract', 'extract:batch:0'), 'its other tasks wait for the turn');
select tests.create_user('jude') as jude \gset
set local session_replication_role = replica; -- place the job at embed without the triggers' side effects
insert into public.processing_jobs (user_id, storage_path, pipeline_version, status)
values (:'jude', 'imports/' || :'jude' || '/e.zip', 'v2', 'embed') returning id as job6 \gset
insert into private.job_tasks (job_id, stage, task_key, max_attempts) values (:'job6', 'extract', 'extract:start', 5);
set local session_replication_role = origin;
delete from claimed;
insert into claimed select * from private.claim_tasks('extract', null, 1, 'w');
select is((select task_key from claimed), 'extract:start', 'the planning task is claimed while the job is at embed');
select is(private.complete_task((select id from claimed), (select lease_token from claimed), '{}',
    '[{"task_key": "extract:batch:0"}]') ->> 'advanced_to', null,
  'and completes there, adding work for extract''s turn and advancing nothing');

-- 9. The vector index is built beside extract (v2 runs extract right after embed): its one task
--    starts once extract has done a task, runs while the job is at extract, completes there, and
--    the job then goes from extract straight to consolidate.
select is(array(select stage::text from private.pipeline_stages where version = 'v2' order by position),
  array['ingest', 'quick_pass', 'chunk', 'embed', 'extract', 'vector_index', 'consolidate', 'memory', 'regenerate',
        'finalize'], 'v2: extract, then the vector index');
select ok(private.task_runnable('extract', 'vector_index', 'vector_index:start'), 'vector_index:start is runnable at extract');
select ok(not private.task_runnable('embed', 'vector_index', 'vector_index:start'), 'not before every vector is written');
select ok(not private.task_runnable('consolidate', 'vector_index', 'vector_index:start'), 'not after its turn');
select tests.create_user('kit') as kit \gset
set local session_replication_role = replica; -- place the job at extract with two tasks to do
insert into public.processing_jobs (user_id, storage_path, pipeline_version, status)
values (:'kit', 'imports/' || :'kit' || '/e.zip', 'v2', 'extract') returning id as job7 \gset
insert into private.job_tasks (job_id, stage, task_key, max_attempts)
values (:'job7', 'extract', 'extract:batch:0', 5), (:'job7', 'extract', 'extract:batch:1', 5);
set local session_replication_role = origin;
delete from claimed;
insert into claimed select * from private.claim_tasks('extract',
  array(select id from private.job_tasks where job_id = :'job7' and task_key = 'extract:batch:0'), 1, 'w');
select private.complete_task((select id from claimed), (select lease_token from claimed), '{}');
select is((select count(*)::int from private.job_tasks where job_id = :'job7' and task_key = 'vector_index:start'), 1,
  'extract''s first task done: the vector index task is enqueued');
delete from claimed;
insert into claimed select * from private.claim_tasks('vector_index', null, 1, 'w');
select is((select task_key from claimed), 'vector_index:start', 'and claimed while the job is at extract');
select is(private.complete_task((select id from claimed), (select lease_token from claimed), '{}') ->> 'advanced_to', null,
  'it completes there, advancing nothing');
select is((select status from public.processing_jobs where id = :'job7'), 'extract', 'the job is still at extract');
delete from claimed;
insert into claimed select * from private.claim_tasks('extract', null, 1, 'w');
select is(private.complete_task((select id from claimed), (select lease_token from claimed), '{}') ->> 'advanced_to',
  'consolidate', 'extract''s last task takes the job past the built index to consolidate');

select * from finish();
rollback;
