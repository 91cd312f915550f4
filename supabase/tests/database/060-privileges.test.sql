-- Least privilege, proven from the catalog. Every check walks pg_catalog, so an object added
-- later (a table without RLS, a grant to anon, a function left executable by PUBLIC) fails here
-- without anyone having to list it. The last block creates such objects inside this
-- transaction and shows that the same walks catch them.
-- Exposed schemas: the Data API serves only `public` (supabase/config.toml [api] schemas);
-- `storage` is reachable through the Storage API. Machinery lives in private, util and ops.
begin;
select plan(20);

-- Privileges `role` holds on relations (tables, views, materialized views, foreign tables) in
-- `schemas`: 'schema.rel: PRIV' when table-wide, 'schema.rel: PRIV(col,…)' when only on columns.
-- has_*_privilege counts grants to PUBLIC and through role membership too.
create function tests.relation_privileges(role name, schemas name[]) returns setof text
language sql stable as $$
  select n.nspname || '.' || c.relname || ': ' || p.priv
         || case when pg_catalog.has_table_privilege(role, c.oid, p.priv) then ''
                 else '(' || (select string_agg(a.attname, ',' order by a.attname)
                                from pg_catalog.pg_attribute a
                               where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                                 and pg_catalog.has_column_privilege(role, c.oid, a.attnum, p.priv)) || ')' end
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv)
   where n.nspname = any (schemas) and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and (pg_catalog.has_table_privilege(role, c.oid, p.priv)
          or (p.priv in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
              and pg_catalog.has_any_column_privilege(role, c.oid, p.priv)))
$$;

-- Privileges `role` holds on sequences in `schemas`.
create function tests.sequence_privileges(role name, schemas name[]) returns setof text
language sql stable as $$
  select n.nspname || '.' || c.relname || ': ' || p.priv
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   cross join unnest(array['USAGE', 'SELECT', 'UPDATE']) p(priv)
   where n.nspname = any (schemas) and c.relkind = 'S'
     and pg_catalog.has_sequence_privilege(role, c.oid, p.priv)
$$;

-- Functions and procedures in `schemas` that `role` may execute (directly or through PUBLIC).
-- Extension members (pg_depend deptype 'e') are the extension's business, not ours.
create function tests.executable_routines(role name, schemas name[]) returns setof text
language sql stable as $$
  select p.oid::regprocedure::text
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname = any (schemas)
     and pg_catalog.has_function_privilege(role, p.oid, 'EXECUTE')
     and not exists (select from pg_catalog.pg_depend d
                      where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
$$;

-- Tables in `schemas` without RLS, and tables in `schemas` without a single policy.
create function tests.tables_without_rls(schemas name[]) returns setof text
language sql stable as $$
  select n.nspname || '.' || c.relname
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any (schemas) and c.relkind in ('r', 'p') and not c.relrowsecurity
$$;
create function tests.tables_without_policy(schemas name[]) returns setof text
language sql stable as $$
  select n.nspname || '.' || c.relname
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any (schemas) and c.relkind in ('r', 'p')
     and not exists (select from pg_catalog.pg_policy p where p.polrelid = c.oid)
$$;

-- Every schema that is not PostgreSQL's own.
create function tests.all_schemas() returns name[]
language sql stable as $$
  select array_agg(nspname) from pg_catalog.pg_namespace
   where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname !~ '^pg_temp_|^pg_toast_temp_'
$$;

-- --- Exposed schemas: RLS everywhere --------------------------------------------------------
select is(array(select tests.tables_without_rls('{public,storage}')), '{}'::text[],
  'every table in public and storage has RLS enabled');
select is(array(select tests.tables_without_policy('{public,storage}')), '{}'::text[],
  'every table in public and storage has at least one policy');

-- --- anon: nothing ----------------------------------------------------------------------------
select is(array(select tests.relation_privileges('anon', '{public}')), '{}'::text[],
  'anon holds no privilege (select/insert/update/delete/truncate/references/trigger) on any public table or view');
select is(array(select tests.sequence_privileges('anon', '{public}')), '{}'::text[],
  'anon holds no privilege on any public sequence');
-- Intentionally executable by anon: nothing. (Signing in is Supabase Auth's job, not ours.)
select is(array(select tests.executable_routines('anon', '{public,private,util,ops}')), '{}'::text[],
  'anon can execute no function in public, private, util or ops');

-- --- authenticated: exactly what the product needs -------------------------------------------
select set_eq($$ select tests.relation_privileges('authenticated', '{public}') $$, array[
    'public.chat_conversations: SELECT', 'public.chat_conversations: INSERT(title,user_id)',
    'public.chat_conversations: UPDATE(title,updated_at)', 'public.chat_conversations: DELETE',
    'public.chat_messages: SELECT', 'public.chat_messages: INSERT(content,conversation_id,role,user_id)',
    'public.chat_messages: DELETE',
    'public.chunk_embeddings: SELECT',
    'public.conversation_chunks: SELECT',
    'public.memory_facts: SELECT',
    'public.processing_jobs: SELECT', 'public.processing_jobs: INSERT(file_type,storage_path,user_id)',
    'public.raw_conversations: SELECT',
    'public.user_profiles: SELECT'
  ], 'authenticated holds exactly: read own rows everywhere, start an import, keep chats (RLS narrows each to own rows)');
select is(array(select tests.sequence_privileges('authenticated', '{public}')), '{}'::text[],
  'authenticated holds no privilege on any public sequence');
select set_eq($$ select tests.executable_routines('authenticated', '{public,private,util,ops}') $$, array[
    'public.cancel_job(uuid)'::regprocedure::text,
    'public.retry_job(uuid)'::regprocedure::text,
    'public.match_conversation_chunks(extensions.vector, integer, double precision)'::regprocedure::text,
    'public.hybrid_search_chunks(text, extensions.vector, integer, double precision, double precision, integer)'::regprocedure::text,
    'public.nearest_chunks(extensions.vector, integer)'::regprocedure::text,
    'public.keyword_chunks(text, integer)'::regprocedure::text,
    'public.generation_index_chunks(extensions.vector, integer, integer)'::regprocedure::text
  ], 'authenticated can execute exactly cancel_job, retry_job and the five search functions');

-- --- What RLS cannot guard: nobody but the owner and service_role, in any schema -------------
select is(array(select x from tests.relation_privileges('authenticated', tests.all_schemas()) x
                 where x ~ ': (TRUNCATE|REFERENCES|TRIGGER)'), '{}'::text[],
  'authenticated holds TRUNCATE, REFERENCES or TRIGGER on no table anywhere (storage included)');
select is(array(select x from tests.relation_privileges('anon', tests.all_schemas()) x
                 where x ~ ': (TRUNCATE|REFERENCES|TRIGGER)'), '{}'::text[],
  'anon holds TRUNCATE, REFERENCES or TRIGGER on no table anywhere (storage included)');

-- --- Machinery schemas: unreachable ---------------------------------------------------------
select is(array(select r || ' ' || x from unnest(array['anon', 'authenticated']::name[]) r,
                 lateral (select tests.relation_privileges(r, '{private,util,ops}')
                          union all select tests.sequence_privileges(r, '{private,util,ops}')) t(x)), '{}'::text[],
  'no table, view or sequence in private, util or ops is granted to anon or authenticated');
select is(array(select r || ' ' || s || ' ' || p
                  from unnest(array['anon', 'authenticated']::name[]) r,
                       unnest(array['private', 'util', 'ops']::name[]) s,
                       unnest(array['USAGE', 'CREATE']) p
                 where pg_catalog.has_schema_privilege(r, s, p)), '{}'::text[],
  'anon and authenticated cannot even enter private, util or ops');
select is(array(select r::text from unnest(array['anon', 'authenticated']::name[]) r
                 where pg_catalog.has_schema_privilege(r, 'public', 'CREATE')
                    or pg_catalog.has_schema_privilege(r, 'storage', 'CREATE')), '{}'::text[],
  'anon and authenticated cannot create objects in public or storage');

-- --- Defaults: objects created later start closed -------------------------------------------
-- Created as the migration role (postgres), like any future migration; rolled back at the end.
create table public.zz_later_table (id bigint generated always as identity primary key, note text);
create function public.zz_later_function() returns integer language sql set search_path = '' as $$ select 1 $$;
select is(array(select tests.relation_privileges('anon', '{public}')), array[]::text[],
  'a table created later grants anon nothing (default privileges)');
select is(array(select x from tests.relation_privileges('authenticated', '{public}') x
                 where x ~ '^public\.zz_later_table: (TRUNCATE|REFERENCES|TRIGGER)'), '{}'::text[],
  'a table created later grants authenticated no TRUNCATE, REFERENCES or TRIGGER');
select is(array(select tests.sequence_privileges(r, '{public}') from unnest(array['anon', 'authenticated']::name[]) r),
  '{}'::text[], 'its identity sequence grants anon and authenticated nothing');
select is(array(select a.grantee::regrole::text
                  from pg_catalog.pg_proc p, aclexplode(p.proacl) a
                 where p.oid = 'public.zz_later_function()'::regprocedure
                   and a.grantee in ('anon'::regrole, 'authenticated'::regrole)), '{}'::text[],
  'a function created later carries no grant to anon or authenticated');

-- The walks are generic: the new table has no RLS and no policy, and the new function is still
-- executable through PostgreSQL's built-in grant to PUBLIC (which only a per-function revoke
-- removes) — each is reported by the same checks that pass above.
select is(array(select tests.tables_without_rls('{public,storage}')), array['public.zz_later_table'],
  'the RLS walk reports a table added without RLS');
select is(array(select tests.tables_without_policy('{public,storage}')), array['public.zz_later_table'],
  'the policy walk reports a table added without a policy');
select is(array(select tests.executable_routines('anon', '{public,private,util,ops}')),
  array['public.zz_later_function()'::regprocedure::text],
  'the function walk reports a function left executable by anon through PUBLIC');

select * from finish();
rollback;
