-- SoulPrint local platform stand-in for pg_net (never deployed), installed into the server's
-- extension directory by platform/install-packages.sh so that the migrations' own
-- `create extension pg_net with schema extensions` runs unchanged here and on Supabase.
-- As in pg_net, the extension's objects live in schema `net` (created by this script, so it
-- belongs to the extension) whatever schema the extension itself is registered in.
-- The delivery worker (platform/net-worker.ts) deletes each queued row before sending it, so
-- delivery is at-most-once, exactly as in pg_net; it starts only after commit because it is
-- woken by NOTIFY, which Postgres delivers at commit. Both tables are UNLOGGED, as in pg_net.
\echo Use "create extension pg_net" to load this file. \quit

create schema net;
grant usage on schema net to postgres, service_role;

create unlogged table net.http_request_queue (
  id bigserial primary key,
  method text not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index _http_response_created_idx on net._http_response (created);

create function net._encode_url_with_params(url text, params jsonb) returns text
language sql immutable as $$
  select case when params is null or params = '{}'::jsonb then url
    else url || case when strpos(url, '?') > 0 then '&' else '?' end || (
      select string_agg(key || '=' || value, '&') from jsonb_each_text(params)
    ) end
$$;

create function net.http_get(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile as $$
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params(url, params), coalesce(headers, '{}'::jsonb), timeout_milliseconds)
  returning id
$$;

create function net.http_post(
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

create function net.http_delete(
  url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile as $$
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params(url, params), coalesce(headers, '{}'::jsonb), timeout_milliseconds)
  returning id
$$;

create function net._wake_worker() returns trigger
language plpgsql as $$
begin
  perform pg_notify('net_http_request_queue', '');
  return null;
end $$;
create trigger wake_worker after insert on net.http_request_queue
  for each statement execute function net._wake_worker();
