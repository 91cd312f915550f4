-- processing_jobs as the frontend sees it (PostgREST semantics: role + JWT claims).
begin;
select plan(13);

select tests.create_user('alice') as alice \gset
select tests.create_user('bob') as bob \gset

select tests.authenticate_as(:'alice');
select throws_ok(format($$ insert into public.processing_jobs (storage_path) values ('imports/%s/x.zip') $$, :'bob'),
  '42501', null, 'a path in another user''s folder is refused');
select throws_ok(format($$ insert into public.processing_jobs (user_id, storage_path) values (%L, 'imports/%s/x.zip') $$, :'bob', :'bob'),
  '42501', null, 'a job for another user is refused');
select throws_ok(format($$ insert into public.processing_jobs (storage_path, pipeline_version) values ('imports/%s/y.zip', 'selftest') $$, :'alice'),
  '42501', null, 'users cannot choose the pipeline version');
select lives_ok(format($$ insert into public.processing_jobs (storage_path, file_type) values ('imports/%s/1-export.zip', 'zip') $$, :'alice'),
  'a user starts an import of a file in their own folder');
select is((select status from public.processing_jobs), 'ingest', 'the job starts at its first stage');
select ok((select pipeline_version in ('v1', 'v2') from public.processing_jobs), 'the version comes from the rollout');
select throws_ok(format($$ insert into public.processing_jobs (storage_path) values ('imports/%s/2.zip') $$, :'alice'),
  'SPJ01', 'An import is already in progress for this account.', 'a second active import is refused with a coded error');
select throws_ok($$ update public.processing_jobs set status = 'complete' $$, '42501', null, 'users cannot move their job');

select tests.authenticate_as(:'bob');
select is((select count(*)::int from public.processing_jobs), 0, 'another user sees none of alice''s jobs');
select lives_ok(format($$ insert into public.processing_jobs (storage_path) values ('imports/%s/b.json') $$, :'bob'),
  'bob has his own active import beside alice''s');

select tests.authenticate_as(:'alice');
select is((select count(*)::int from public.processing_jobs), 1, 'alice sees exactly her own job');

select tests.authenticate_as_anon();
select throws_ok($$ select * from public.processing_jobs $$, '42501', null, 'anon cannot read jobs');
select throws_ok(format($$ insert into public.processing_jobs (user_id, storage_path) values (%L, 'imports/%s/z.zip') $$, :'alice', :'alice'),
  '42501', null, 'anon cannot start an import');

select * from finish();
rollback;
