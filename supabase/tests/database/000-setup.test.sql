-- Installs pgTAP and the vendored helpers the other files use. Not rolled back on purpose:
-- every later file runs in its own transaction and relies on these.
create extension if not exists pgtap with schema extensions;
create schema if not exists tests;

-- Creates an auth user (the Supabase Auth stand-in's table) and returns its id.
create or replace function tests.create_user(label text default 'user') returns uuid
language plpgsql as $$
declare uid uuid := gen_random_uuid();
begin
  insert into auth.users (id, email) values (uid, label || '-' || left(uid::text, 8) || '@example.test');
  return uid;
end $$;

-- Acts as the given user for the rest of the transaction, exactly as PostgREST does.
create or replace function tests.authenticate_as(uid uuid) returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', json_build_object('sub', uid, 'role', 'authenticated')::text, true);
  execute 'set local role authenticated';
end $$;

-- Acts as the anonymous role for the rest of the transaction.
create or replace function tests.authenticate_as_anon() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', json_build_object('role', 'anon')::text, true);
  execute 'set local role anon';
end $$;

-- Back to the superuser that runs the tests.
create or replace function tests.clear_authentication() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', null, true);
  execute 'reset role';
end $$;

grant usage on schema tests to anon, authenticated, service_role;
grant execute on all functions in schema tests to anon, authenticated, service_role;

begin;
select plan(1);
select has_function('tests', 'authenticate_as', array['uuid'], 'test helpers are installed');
select * from finish();
rollback;
