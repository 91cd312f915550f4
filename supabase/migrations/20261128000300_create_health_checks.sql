-- Health round trip: a row inserted here kicks the `health` function through pg_net; the
-- function stamps `responded_at` through its own database client. Proves the whole chain
-- (trigger -> pg_net -> gateway -> function -> database) in every environment.
create table if not exists private.health_checks (
  id bigint generated always as identity primary key,
  requested_at timestamptz not null default clock_timestamp(),
  responded_at timestamptz,
  responder text
);
comment on table private.health_checks is
  'Health round trips: inserted by ops/tests, answered by the health function. Safe to truncate.';

/*
 * private.health_checks__kick() trigger, after insert, for each row.
 * Kicks the `health` function with {ping_id}. Writes nothing itself. Not idempotent (one kick per row).
 */
create or replace function private.health_checks__kick() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform util.invoke_edge_function('health', jsonb_build_object('ping_id', new.id), 5000);
  return null;
end $$;
comment on function private.health_checks__kick() is
  'After-insert trigger on private.health_checks: kicks the health function with {ping_id}.';

drop trigger if exists _100_kick on private.health_checks;
create trigger _100_kick after insert on private.health_checks
  for each row execute function private.health_checks__kick();

revoke all on function private.health_checks__kick() from public, anon, authenticated;
grant select, insert, update on private.health_checks to service_role;
