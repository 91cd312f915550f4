-- What a hosted Supabase project needs from the migrations themselves: pg_net enabled the
-- Supabase way (registered in `extensions`, its API in its own `net` schema) and job progress
-- published to Realtime.
begin;
select plan(6);

select has_extension('extensions', 'pg_net', 'pg_net is enabled in schema extensions');
select is(
  (select count(*)::int from pg_depend d
     where d.refobjid = (select oid from pg_extension where extname = 'pg_net') and d.deptype = 'e'
       and d.classid = 'pg_namespace'::regclass and d.objid = 'net'::regnamespace),
  1, 'schema net belongs to the pg_net extension');
select is(
  (select count(*)::int from pg_depend d
     where d.refobjid = (select oid from pg_extension where extname = 'pg_net') and d.deptype = 'e'
       and d.classid = 'pg_proc'::regclass
       and d.objid = 'net.http_post(text, jsonb, jsonb, jsonb, integer)'::regprocedure),
  1, 'net.http_post (the signature util.invoke_edge_function calls) is pg_net''s');
select is(
  (select count(*)::int from pg_depend d
     where d.refobjid = (select oid from pg_extension where extname = 'pg_net') and d.deptype = 'e'
       and d.classid = 'pg_class'::regclass and d.objid = 'net._http_response'::regclass),
  1, 'net._http_response (read by ops.net_errors) is pg_net''s');
select ok(
  exists (select from pg_publication_tables
           where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'processing_jobs'),
  'processing_jobs is published to Realtime');
select ok(
  exists (select from pg_publication_tables
           where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'user_profiles'),
  'user_profiles is published to Realtime');

select * from finish();
rollback;
