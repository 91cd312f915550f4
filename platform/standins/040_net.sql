-- Local stand-in (never deployed): pg_net's `net` schema, same names and signatures. The
-- delivery worker (platform/net-worker.ts) deletes each queued row before sending it, so
-- delivery is at-most-once, exactly as in pg_net; it starts only after commit because it is
-- woken by NOTIFY, which Postgres delivers at commit. Both tables are UNLOGGED, as in pg_net.
create schema if not exists net;
grant usage on schema net to postgres, service_role;

create unlogged table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

create or replace function net._encode_url_with_params(url text, params jsonb) returns text
language sql immutable as $$
  select case when params is null or params = '{}'::jsonb then url
    else url || case when strpos(url, '?') > 0 then '&' else '?' end || (
      select string_agg(key || '=' || value, '&') from jsonb_each_text(params)
    ) end
$$;

create or replace function net.http_get(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile as $$
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params(url, params), coalesce(headers, '{}'::jsonb), timeout_milliseconds)
  returning id
$$;

create or replace function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params(url, params), coalesce(headers, '{}'::jsonb),
          convert_to(coalesce(body, '{}'::jsonb)::text, 'UTF8'), timeout_milliseconds)
  returning id
$$;

create or replace function net.http_delete(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile as $$
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params(url, params), coalesce(headers, '{}'::jsonb), timeout_milliseconds)
  returning id
$$;

create or replace function net._wake_worker() returns trigger
language plpgsql as $$
begin
  perform pg_notify('net_http_request_queue', '');
  return null;
end $$;
drop trigger if exists wake_worker on net.http_request_queue;
create trigger wake_worker after insert on net.http_request_queue
  for each statement execute function net._wake_worker();

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
