-- Per-user request limits for the user-facing functions (query, chat): one token bucket per
-- (user, function), kept in Postgres like the provider limits (private.rate_buckets), so every
-- worker and every instance draws from the same bucket. A logged table: a restart must not hand
-- everyone a fresh burst.
create table if not exists private.user_rate_buckets (
  user_id uuid not null references auth.users (id) on delete cascade,
  bucket text not null,
  tokens double precision not null,
  updated_at timestamptz not null default clock_timestamp(),
  primary key (user_id, bucket)
);
alter table private.user_rate_buckets enable row level security;

/*
 * private.user_rate_take(user_id, bucket, burst, per_minute) -> integer (ms to wait; 0 = go)
 * Called by: the query and chat functions once per request, after the caller's JWT is verified.
 * The bucket holds at most `burst` tokens and refills continuously at `per_minute` per minute; a
 * new bucket starts full. When a token is there it is taken and 0 is returned; otherwise nothing
 * is taken and the result is how long until one will be. The row is locked, so concurrent
 * requests of one user are serialised per bucket and never overdraw it. Raises 22023 on a
 * non-positive burst or rate. Not idempotent (each call may take a token).
 */
create or replace function private.user_rate_take(p_user uuid, p_bucket text, p_burst integer, p_per_minute double precision)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  now_ts timestamptz := clock_timestamp();
  have double precision;
begin
  if p_burst is null or p_burst < 1 or p_per_minute is null or p_per_minute <= 0 then
    raise exception 'user_rate_take: burst and per_minute must be positive' using errcode = '22023';
  end if;
  insert into private.user_rate_buckets (user_id, bucket, tokens, updated_at)
  values (p_user, p_bucket, p_burst, now_ts)
  on conflict (user_id, bucket) do nothing;
  select least(p_burst::double precision, b.tokens + extract(epoch from now_ts - b.updated_at) * p_per_minute / 60.0)
    into have
    from private.user_rate_buckets b where b.user_id = p_user and b.bucket = p_bucket for update;
  if have >= 1 then
    update private.user_rate_buckets set tokens = have - 1, updated_at = now_ts
     where user_id = p_user and bucket = p_bucket;
    return 0;
  end if;
  update private.user_rate_buckets set tokens = have, updated_at = now_ts
   where user_id = p_user and bucket = p_bucket;
  return ceil((1 - have) * 60000.0 / p_per_minute)::integer;
end $$;
comment on function private.user_rate_take(uuid, text, integer, double precision) is
  'Per-user token bucket (query, chat): returns 0 and takes one token, or the ms until one is available. Raises 22023 on bad limits. Not idempotent.';

revoke all on function private.user_rate_take(uuid, text, integer, double precision) from public, anon, authenticated;
grant execute on function private.user_rate_take(uuid, text, integer, double precision) to service_role;
