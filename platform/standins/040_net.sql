-- Local stand-in (never deployed). pg_net itself is a real extension here
-- (platform/extensions/pg_net.control, installed by platform/install-packages.sh) and is
-- created by the migrations, exactly as on Supabase.
--
-- Clusters made before that hold pg_net's objects as a plain `net` schema, which would make the
-- migrations' `create extension pg_net` fail. Convert them in place: move the old schema aside,
-- create the extension, repoint the views that read the old tables (ops.net_errors), drop the
-- old schema, keeping the request-id sequence. Queued kicks are dropped, which pg_net allows (at-most-once; the sweeper re-kicks).
do $$
declare v record;
begin
  if not exists (select from pg_namespace where nspname = 'net')
     or exists (select from pg_extension where extname = 'pg_net') then
    return;
  end if;
  alter schema net rename to net_before_extension;
  create extension pg_net with schema extensions;
  -- Request ids go on where they stopped: callers keep them (private.kicks) as keys.
  perform setval('net.http_request_queue_id_seq',
                 (select last_value from net_before_extension.http_request_queue_id_seq));
  for v in
    select distinct c.oid, n.nspname, c.relname
      from pg_depend d
      join pg_rewrite r on r.oid = d.objid and d.classid = 'pg_rewrite'::regclass
      join pg_class c on c.oid = r.ev_class
      join pg_namespace n on n.oid = c.relnamespace
     where d.refclassid = 'pg_class'::regclass
       and d.refobjid in (select oid from pg_class where relnamespace = 'net_before_extension'::regnamespace)
       and c.relnamespace <> 'net_before_extension'::regnamespace
  loop
    execute format('create or replace view %I.%I as %s', v.nspname, v.relname,
                   replace(pg_get_viewdef(v.oid), 'net_before_extension.', 'net.'));
  end loop;
  drop schema net_before_extension cascade;
end $$;

-- Chaos knobs for the local worker and gateway (never deployed). Rates are fractions 0..1.
create schema if not exists local_platform;
create table if not exists local_platform.settings (
  key text primary key,
  value double precision not null,
  description text not null
);
insert into local_platform.settings (key, value, description) values
  ('net_drop_rate', 0, 'fraction of pg_net requests the worker drops without sending (no response row, like a lost request)'),
  ('net_delay_rate', 0, 'fraction of pg_net requests delayed before sending'),
  ('net_delay_ms', 0, 'delay applied to delayed requests, in milliseconds'),
  ('gateway_kill_rate', 0, 'fraction of function invocations whose worker is killed mid-run (546)'),
  ('gateway_workers_per_function', 0, 'worker processes per function (0 = the server default)'),
  ('gateway_requests_per_worker', 0, 'requests one worker serves at once (0 = the server default)'),
  ('gateway_soft_rss_mb', 0, 'RSS past which a worker is retired once idle (0 = the server default)'),
  ('gateway_chaos_seed', 0, 'seed of the gateway''s kill draws (0 = SOULPRINT_CHAOS_SEED, else 1)'),
  ('gateway_cpu_ms', 0, 'CPU time per invocation before its worker is killed, 546 (0 = SOULPRINT_FUNCTION_CPU_MS, else 2000)'),
  ('gateway_wall_ms', 0, 'wall clock per invocation before its worker is killed, 504 (0 = SOULPRINT_FUNCTION_WALL_MS, else 150000)'),
  ('gateway_memory_mb', 0, 'worker RSS before it is killed, 546 (0 = SOULPRINT_FUNCTION_MEMORY_MB, else 256)')
on conflict (key) do nothing;
