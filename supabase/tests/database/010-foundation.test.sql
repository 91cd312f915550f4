begin;
select plan(12);

select has_extension('pg_cron', 'pg_cron is installed');
select has_extension('vector', 'pgvector is installed');
select has_function('util', 'invoke_edge_function', array['text', 'jsonb', 'integer'], 'invoker exists');
select is(
  (select prosecdef from pg_proc where oid = 'util.invoke_edge_function(text, jsonb, integer)'::regprocedure),
  true, 'invoker is security definer');
select ok(
  (select proconfig @> array['search_path=""'] from pg_proc where oid = 'util.invoke_edge_function(text, jsonb, integer)'::regprocedure),
  'invoker pins an empty search_path');
select ok(not has_function_privilege('anon', 'util.invoke_edge_function(text, jsonb, integer)', 'execute'), 'anon cannot invoke');
select ok(not has_function_privilege('authenticated', 'util.invoke_edge_function(text, jsonb, integer)', 'execute'), 'users cannot invoke');

-- The invoker queues a pg_net POST with the URL and secret read from Vault.
select lives_ok($$ select util.invoke_edge_function('health', '{"ping_id": 0}'::jsonb, 1234) $$, 'invoker queues a request');
select is(
  (select url from net.http_request_queue order by id desc limit 1),
  (select decrypted_secret from vault.decrypted_secrets where name = 'project_url') || '/functions/v1/health',
  'URL comes from Vault');
select is(
  (select headers ->> 'Authorization' from net.http_request_queue order by id desc limit 1),
  'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key'),
  'bearer secret comes from Vault');
select throws_ok($$ select util.invoke_edge_function('../etc', '{}'::jsonb) $$, '22023', null, 'bad function names are refused');

-- No migration embeds a secret: the service secret appears in no function body.
select is(
  (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'util', 'private')
      and p.prosrc like '%' || (select decrypted_secret from vault.decrypted_secrets where name = 'service_role_key') || '%'),
  0, 'no function body contains the service secret');

select * from finish();
rollback;
