-- Local stand-in (never deployed): the roles and default grants every Supabase project has.
-- Migrations are written against these; RLS, not grants, is what keeps users apart.
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit; end if;
end $$;
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

grant usage on schema public to anon, authenticated, service_role;
-- Set once, as Supabase does when a project is created: migrations narrow these defaults
-- (20261129030100), and restarting the platform must not widen them again.
do $$
begin
  if not exists (select from pg_default_acl where defaclrole = 'postgres'::regrole and defaclnamespace = 'public'::regnamespace) then
    alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
    alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
    alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
  end if;
end $$;
