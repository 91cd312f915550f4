-- The completion webhook's outbox. finalize writes one row per job in the transaction that
-- completes the job, so the job never waits on the receiver and a notification can be late but
-- never lost; the notify function delivers it and the sweeper retries it with backoff.
-- private.notifications stays the log: one row per delivery attempt (or one 'skipped').
create table if not exists private.webhook_deliveries (
  id bigint generated always as identity primary key,
  job_id uuid not null unique references public.processing_jobs (id) on delete cascade,
  -- The Standard Webhooks message id, the same on every attempt: receivers dedupe on it.
  webhook_id text generated always as ('msg_' || job_id::text) stored unique,
  payload jsonb not null,
  state text not null default 'pending' check (state in ('pending', 'sending', 'delivered', 'given_up')),
  attempts integer not null default 0,
  max_attempts integer not null default 30 check (max_attempts > 0),
  next_attempt_at timestamptz not null default now(),
  -- No attempt is scheduled past this: a receiver down for a day is given up on.
  give_up_after timestamptz not null default now() + interval '24 hours',
  lease_token uuid,
  lease_until timestamptz,
  kicked_at timestamptz,
  last_status integer,
  last_error_code text,
  last_error text,
  delivered_at timestamptz,
  given_up_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists webhook_deliveries_open on private.webhook_deliveries (next_attempt_at)
  where state in ('pending', 'sending');

-- Only the pipeline (security definer functions, the service role) touches it.
alter table private.webhook_deliveries enable row level security;
revoke all on private.webhook_deliveries from public, anon, authenticated;
grant select on private.webhook_deliveries to service_role;

-- Each attempt names its delivery, its failure code and how long the receiver took.
alter table private.notifications
  add column if not exists delivery_id bigint references private.webhook_deliveries (id) on delete cascade,
  add column if not exists error_code text,
  add column if not exists duration_ms integer;
create index if not exists notifications_delivery on private.notifications (delivery_id);
