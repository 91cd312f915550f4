-- Supabase Security Advisor, locally: the splinter lints (github.com/supabase/splinter, lints/*.sql)
-- that apply to this project, as assertions over pg_catalog. Where splinter reads the exposed
-- schemas from `pgrst.db_schemas` we use public (config.toml [api] schemas) plus storage, and
-- where a lint only reports objects anon/authenticated can reach we are stricter as noted.
-- Extension members (pg_depend deptype 'e') are excluded, as splinter does.
--   0013 rls_disabled_in_public            every table in public/storage has RLS (splinter: only
--                                          tables anon/authenticated can select; here all)
--   0007 policy_exists_rls_disabled        no table anywhere has policies with RLS off
--   0008 rls_enabled_no_policy             every table in public/storage has a policy
--   0010 security_definer_view             views in public/storage, and any view anon or
--                                          authenticated can select, are security_invoker
--   0016 materialized_view_in_api          no materialized view in public/storage is selectable
--   0002 auth_users_exposed                no view anon/authenticated can select reads auth.users
--   0011 function_search_path_mutable      every function in public/private/util/ops pins
--                                          search_path in proconfig; one listed exception
--   0028 anon_security_definer_function_executable
--                                          anon executes no security definer function in any
--                                          schema (splinter: exposed schemas only)
--   0029 authenticated_security_definer_function_executable
--                                          authenticated executes exactly the listed ones
--   0003 auth_rls_initplan                 policies wrap auth.<fn>() / current_setting() in a
--                                          select (evaluated once per statement, not per row)
--   0024 rls_policy_always_true            no permissive user policy is `true` for writes
--   0014 extension_in_public               no extension lives in public
--   0015 rls_references_user_metadata    no policy reads user_metadata (users can edit it)
-- Not applicable here: 0026/0027 (no pg_graphql), 0019 (no pgmq), 0025 (no public bucket).
-- The performance and housekeeping lints (0001, 0004-0006, 0009, 0020-0022) are out of scope.
begin;
select plan(15);

-- Schemas that are ours (not PostgreSQL's, not an extension's own bookkeeping).
create function tests.user_schemas() returns name[]
language sql stable as $$
  select array_agg(nspname) from pg_catalog.pg_namespace
   where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname !~ '^pg_temp_|^pg_toast_temp_'
$$;
create function tests.is_extension_member(classid regclass, objid oid) returns boolean
language sql stable as $$
  select exists (select from pg_catalog.pg_depend d where d.classid = $1 and d.objid = $2 and d.deptype = 'e')
$$;

-- 0013
select is(array(
  select n.nspname || '.' || c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ('public', 'storage') and c.relkind in ('r', 'p') and not c.relrowsecurity), '{}'::text[],
  '0013 rls_disabled_in_public: every table in public and storage has RLS enabled');

-- 0007
select is(array(
  select distinct n.nspname || '.' || c.relname
    from pg_catalog.pg_policy p join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where not c.relrowsecurity and not tests.is_extension_member('pg_catalog.pg_class', c.oid)), '{}'::text[],
  '0007 policy_exists_rls_disabled: no table has policies while RLS is off');

-- 0008
select is(array(
  select n.nspname || '.' || c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ('public', 'storage') and c.relkind in ('r', 'p')
     and not exists (select from pg_catalog.pg_policy p where p.polrelid = c.oid)), '{}'::text[],
  '0008 rls_enabled_no_policy: every table in public and storage has at least one policy');

-- 0010
select is(array(
  select n.nspname || '.' || c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.relkind = 'v' and n.nspname = any (tests.user_schemas())
     and not tests.is_extension_member('pg_catalog.pg_class', c.oid)
     and (n.nspname in ('public', 'storage')
          or pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
          or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
     and not (lower(coalesce(c.reloptions::text, '{}'))::text[]
              && array['security_invoker=1', 'security_invoker=true', 'security_invoker=yes', 'security_invoker=on'])),
  '{}'::text[],
  '0010 security_definer_view: views in public/storage and views users can select are security_invoker');

-- 0016
select is(array(
  select n.nspname || '.' || c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.relkind = 'm' and n.nspname in ('public', 'storage')
     and (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
          or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))), '{}'::text[],
  '0016 materialized_view_in_api: no materialized view in public or storage is selectable by users');

-- 0002
select is(array(
  select distinct n.nspname || '.' || c.relname
    from pg_catalog.pg_depend d
    join pg_catalog.pg_rewrite r on r.oid = d.objid
    join pg_catalog.pg_class c on c.oid = r.ev_class
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where d.refobjid = 'auth.users'::regclass and d.classid = 'pg_catalog.pg_rewrite'::regclass
     and c.relkind in ('v', 'm')
     and (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
          or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))), '{}'::text[],
  '0002 auth_users_exposed: no view users can select reads auth.users');

-- 0011. The exceptions: private.sweep_for and private.sweep_webhooks_for commit between sweeps (pg_cron < 1.5 loops
-- inside one minutely run), private.pause_committing commits while they pause, and PostgreSQL forbids transaction control in a procedure with a
-- SET clause. It is safe without one: not security definer, executable by no user, and every
-- name in it is schema-qualified. The next assertion holds the exception to exactly that.
select is(array(
  select p.oid::regprocedure::text from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('public', 'private', 'util', 'ops')
     and not tests.is_extension_member('pg_catalog.pg_proc', p.oid)
     and not exists (select from unnest(coalesce(p.proconfig, '{}')) cfg where cfg like 'search_path=%')
     and p.oid not in ('private.sweep_for(integer, integer)'::regprocedure,
                       'private.sweep_webhooks_for(integer, integer)'::regprocedure,
                       'private.pause_committing(numeric)'::regprocedure)), '{}'::text[],
  '0011 function_search_path_mutable: every function in public, private, util and ops pins its search_path');
select ok((select bool_and(p.prokind = 'p' and not p.prosecdef
              and not pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE')
              and not pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE'))
             from pg_catalog.pg_proc p where p.oid in ('private.sweep_for(integer, integer)'::regprocedure,
                                                       'private.sweep_webhooks_for(integer, integer)'::regprocedure,
                                                       'private.pause_committing(numeric)'::regprocedure)),
  '0011 exceptions: the three sweep procedures are not security definer and executable by no user');

-- 0028
select is(array(
  select p.oid::regprocedure::text from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where p.prosecdef and n.nspname = any (tests.user_schemas())
     and pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE')), '{}'::text[],
  '0028 anon_security_definer_function_executable: anon executes no security definer function, in any schema');

-- 0029: cancel_job and retry_job run as definer because users may not update jobs; each checks
-- the caller owns the job first (private.assert_job_caller, 020-jobs-rls / 030-tasks).
-- keyword_chunks runs as definer because under RLS the full-text match (not leakproof) cannot use
-- its index; generation_index_chunks because the per-generation vector indexes live in the private
-- schema. Both derive everything from auth.uid() and return only the caller's ids (050-search-rls).
select set_eq($$
  select p.oid::regprocedure::text from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where p.prosecdef and n.nspname = any (tests.user_schemas())
     and pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE') $$,
  array['public.cancel_job(uuid)'::regprocedure::text, 'public.retry_job(uuid)'::regprocedure::text,
        'public.keyword_chunks(text, integer)'::regprocedure::text,
        'public.generation_index_chunks(extensions.vector, integer, integer)'::regprocedure::text],
  '0029 authenticated_security_definer_function_executable: only cancel_job, retry_job and two search arms');

-- 0003. pg_policies prints a wrapped call as "( SELECT auth.uid() AS uid)".
select is(array(
  select schemaname || '.' || tablename || ' / ' || policyname from pg_catalog.pg_policies
   where schemaname in ('public', 'storage')
     and exists (select from unnest(array[qual, with_check]) e(expr), unnest(array['auth.uid()', 'auth.jwt()', 'auth.role()', 'auth.email()']) f(fn)
                  where strpos(e.expr, f.fn) > 0 and strpos(lower(e.expr), 'select ' || f.fn) = 0)
      or exists (select from unnest(array[qual, with_check]) e(expr)
                  where e.expr ~ 'current_setting\(' and lower(e.expr) !~ 'select current_setting\(')), '{}'::text[],
  '0003 auth_rls_initplan: every policy evaluates auth.<fn>() and current_setting() once per statement');

-- 0024
select is(array(
  select schemaname || '.' || tablename || ' / ' || policyname from pg_catalog.pg_policies
   where permissive = 'PERMISSIVE' and schemaname = any (tests.user_schemas())
     and (roles && array['public', 'anon', 'authenticated']::name[])
     and ((cmd in ('UPDATE', 'DELETE', 'ALL') and regexp_replace(lower(coalesce(qual, '')), '\s', '', 'g') in ('true', '(true)', '1=1', '(1=1)'))
          or regexp_replace(lower(coalesce(with_check, '')), '\s', '', 'g') in ('true', '(true)', '1=1', '(1=1)')
          or (cmd = 'INSERT' and with_check is null))), '{}'::text[],
  '0024 rls_policy_always_true: no user policy lets every row be written');

-- 0015
select is(array(
  select schemaname || '.' || tablename || ' / ' || policyname from pg_catalog.pg_policies
   where schemaname = any (tests.user_schemas())
     and (coalesce(qual, '') || coalesce(with_check, '')) ~ 'user_metadata'), '{}'::text[],
  '0015 rls_references_user_metadata: no policy trusts user-editable metadata');

-- 0014
select is(array(select extname::text from pg_catalog.pg_extension where extnamespace = 'public'::regnamespace), '{}'::text[],
  '0014 extension_in_public: no extension is installed in public');

-- The walks report what they are meant to find: a security definer function created without
-- a search_path and left executable through PUBLIC is caught by 0011 and 0028 at once.
create function public.zz_open_definer() returns integer language sql security definer as $$ select 1 $$;
select is(array(
  select p.oid::regprocedure::text from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where p.prosecdef and n.nspname = any (tests.user_schemas())
     and pg_catalog.has_function_privilege('anon', p.oid, 'EXECUTE')
     and not exists (select from unnest(coalesce(p.proconfig, '{}')) cfg where cfg like 'search_path=%')),
  array['public.zz_open_definer()'::regprocedure::text],
  '0011/0028 walks report a security definer function with a mutable search_path left open to anon');

select * from finish();
rollback;
