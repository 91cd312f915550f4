-- Import paths: only `imports/<own id>/<one safe file name>` is accepted, at the job insert and in
-- Storage. Every traversal and encoding trick is refused before anything can read it (ingest checks
-- again with the same rule: tests/functions/import_paths.test.ts).
begin;
select plan(23);

select tests.create_user('mallory') as m \gset
select tests.create_user('victim') as v \gset
select tests.authenticate_as(:'m');

create temporary table bad_paths (path text);
insert into bad_paths values
  ('imports/' || :'m' || '/../' || :'v' || '/export.zip'),
  ('imports/' || :'m' || '/%2e%2e/' || :'v' || '/export.zip'),
  ('imports/' || :'m' || '/%2E%2E%2F' || :'v' || '%2Fexport.zip'),
  ('imports/' || :'m' || '/..%2f' || :'v' || '%2fexport.zip'),
  ('imports/' || :'m' || '/..\' || :'v' || '\export.zip'),
  ('imports/' || :'m' || '\..\' || :'v' || '\export.zip'),
  ('imports/' || :'m' || '/./export.zip'),
  ('imports/' || :'m' || '/..'),
  ('imports/' || :'m' || '/.hidden.zip'),
  ('imports/' || :'m' || '/a..zip'),
  ('imports/' || :'m' || '/sub/export.zip'),
  ('imports/' || :'m' || '//export.zip'),
  ('imports/' || :'m' || '/'),
  ('imports//' || :'m' || '/export.zip'),
  ('Imports/' || :'m' || '/export.zip'),
  ('/imports/' || :'m' || '/export.zip'),
  ('imports/' || upper(:'m') || '/export.zip'),
  ('imports/' || :'v' || '/export.zip'),
  ('imports/' || :'m' || '/export.zip' || chr(10) || 'x'),
  ('imports/' || :'m' || '/export%00.zip'),
  ('imports/' || :'m' || '/' || repeat('a', 201));
grant select on bad_paths to authenticated;

-- Each bad path is refused by the insert policy (42501), inside its own savepoint.
create or replace function pg_temp.refused(p text) returns boolean language plpgsql as $$
begin
  insert into public.processing_jobs (storage_path) values (p);
  return false;
exception when insufficient_privilege then return true;
end $$;
select is((select array_agg(path) from bad_paths where not pg_temp.refused(path)), null,
  'every traversal, encoding, nesting, case and length trick is refused at insert');
select is((select count(*)::int from public.processing_jobs), 0, 'and no job was created');


-- Storage: the same rule for object names in the bucket.
create or replace function pg_temp.upload_refused(n text) returns boolean language plpgsql as $$
begin
  insert into storage.objects (bucket_id, name, owner) values ('imports', n, auth.uid());
  return false;
exception when insufficient_privilege then return true;
end $$;
select ok(pg_temp.upload_refused(:'m' || '/../' || :'v' || '/x.zip'), 'storage: dot segments refused');
select ok(pg_temp.upload_refused(:'m' || '/%2e%2e/x.zip'), 'storage: percent-escapes refused');
select ok(pg_temp.upload_refused(:'m' || '/a\b.zip'), 'storage: backslashes refused');
select ok(pg_temp.upload_refused(:'m' || '/sub/x.zip'), 'storage: nested folders refused');
select ok(pg_temp.upload_refused(:'v' || '/x.zip'), 'storage: another user''s folder refused');
select ok(pg_temp.upload_refused(:'m' || '/.x.zip'), 'storage: a leading dot refused');
select ok(not pg_temp.upload_refused(:'m' || '/1700000000-export.zip'), 'storage: an ordinary upload is accepted');

-- The rule itself, case by case, as the ingest function applies it (same pattern, shown here so a
-- change to one is seen against the other).
select tests.clear_authentication();
select is((select count(*)::int from bad_paths
            where path ~ ('^imports/' || :'m' || '/[A-Za-z0-9_-][A-Za-z0-9_.()+ -]{0,199}$') and strpos(path, '..') = 0),
  0, 'no bad path matches the pattern');
select ok('imports/' || :'m' || '/My export (1).zip' ~ ('^imports/' || :'m' || '/[A-Za-z0-9_-][A-Za-z0-9_.()+ -]{0,199}$'),
  'the ordinary name matches it');

-- One assertion per family, so a failure names the form.
select tests.authenticate_as(:'m');
select ok(pg_temp.refused('imports/' || :'m' || '/../' || :'v' || '/export.zip'), 'literal dot segments');
select ok(pg_temp.refused('imports/' || :'m' || '/%2e%2e/' || :'v' || '/export.zip'), 'percent-encoded dot segments');
select ok(pg_temp.refused('imports/' || :'m' || '/..%2f' || :'v' || '%2fexport.zip'), 'encoded slashes');
select ok(pg_temp.refused('imports/' || :'m' || '/..\' || :'v' || '\export.zip'), 'backslashes');
select ok(pg_temp.refused('imports/' || :'m' || '/sub/export.zip'), 'a nested folder');
select ok(pg_temp.refused('imports/' || :'v' || '/export.zip'), 'another user''s folder');
select ok(pg_temp.refused('imports/' || upper(:'m') || '/export.zip'), 'the owner id in another case');
select ok(pg_temp.refused('imports/' || :'m' || '/export.zip' || chr(10) || 'x'), 'a control character');
select ok(pg_temp.refused('imports/' || :'m' || '/export%00.zip'), 'an encoded NUL');
select ok(pg_temp.refused('imports/' || :'m' || '/' || repeat('a', 201)), 'a name over 200 characters');
select ok(pg_temp.refused('/imports/' || :'m' || '/export.zip'), 'a leading slash');

select lives_ok(format($$ insert into public.processing_jobs (storage_path) values ('imports/%s/My export (1).zip') $$, :'m'),
  'an ordinary file name with spaces and parentheses is accepted');

select * from finish();
rollback;
