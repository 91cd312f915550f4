-- The one way the database calls an Edge Function. The project URL and the service secret come
-- from Vault (seeded per environment; never in a migration). pg_net is a kick only: callers
-- must keep the durable state of the work in their own tables.
create schema if not exists util;
create schema if not exists private;
revoke all on schema util from public, anon, authenticated;
revoke all on schema private from public, anon, authenticated;
grant usage on schema util, private to service_role;

/*
 * util.project_url() -> text
 * Called by: util.invoke_edge_function. Reads Vault secret `project_url`.
 * Raises: P0001 'vault secret project_url is missing' when not seeded. Stable, no writes.
 */
create or replace function util.project_url() returns text
language plpgsql stable security definer set search_path = '' as $$
declare v text;
begin
  select decrypted_secret into v from vault.decrypted_secrets where name = 'project_url';
  if v is null then raise exception 'vault secret project_url is missing'; end if;
  return rtrim(v, '/');
end $$;
comment on function util.project_url() is
  'Project URL from Vault secret project_url. Raises P0001 when missing. Stable, no writes.';

/*
 * util.service_role_key() -> text
 * Called by: util.invoke_edge_function. Reads Vault secret `service_role_key`.
 * Raises: P0001 when not seeded. Stable, no writes.
 */
create or replace function util.service_role_key() returns text
language plpgsql stable security definer set search_path = '' as $$
declare v text;
begin
  select decrypted_secret into v from vault.decrypted_secrets where name = 'service_role_key';
  if v is null then raise exception 'vault secret service_role_key is missing'; end if;
  return v;
end $$;
comment on function util.service_role_key() is
  'Service secret from Vault secret service_role_key. Raises P0001 when missing. Stable, no writes.';

/*
 * util.invoke_edge_function(name text, body jsonb, timeout_ms int default 5000) -> bigint
 * Called by: triggers and the sweeper, to kick a function. Queues one pg_net POST to
 * <project_url>/functions/v1/<name> with the service secret as bearer token; returns the pg_net
 * request id. Sent only after the calling transaction commits; at most once; nobody reads the
 * response. Bodies carry ids only (pg_net can hang on bodies over 64 KB).
 * Raises: 22023 on a bad function name; P0001 when Vault secrets are missing.
 * Not idempotent: each call queues one request.
 */
create or replace function util.invoke_edge_function(name text, body jsonb, timeout_ms integer default 5000)
returns bigint
language plpgsql volatile security definer set search_path = '' as $$
begin
  if name !~ '^[a-z0-9][a-z0-9_-]*$' then
    raise exception using errcode = '22023', message = format('invalid function name %L', name);
  end if;
  return net.http_post(
    url := util.project_url() || '/functions/v1/' || name,
    body := coalesce(body, '{}'::jsonb),
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || util.service_role_key()
    ),
    timeout_milliseconds := timeout_ms
  );
end $$;
comment on function util.invoke_edge_function(text, jsonb, integer) is
  'Kicks Edge Function <name> via pg_net with the service secret (after commit, at most once). '
  'Returns the pg_net request id. Raises 22023 on a bad name, P0001 when Vault is not seeded.';

revoke all on function util.project_url(), util.service_role_key(), util.invoke_edge_function(text, jsonb, integer)
  from public, anon, authenticated;
grant execute on function util.invoke_edge_function(text, jsonb, integer) to service_role;
