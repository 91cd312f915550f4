-- Shared rate limits for model providers: token buckets per key (provider:model:rpm|tpm), so
-- every concurrent invocation draws from the same quota. Kept in a logged table: a restart
-- must not reset the account's minute.
create table if not exists private.rate_buckets (
  key text primary key,
  tokens double precision not null,
  updated_at timestamptz not null default clock_timestamp()
);

/*
 * private.rate_acquire(key, rpm, tpm, tokens) -> integer (ms to wait; 0 = go)
 * Called by: the provider adapters before each model call. Refills both buckets continuously;
 * bursts are small (1 s of requests, 10 s of tokens) so that any 60-second window stays close to
 * the configured per-minute limits. When both hold enough it takes 1 request and
 * `tokens` tokens and returns 0; otherwise takes nothing and returns how long to wait.
 * Rows are locked per key, so concurrent callers are serialised per bucket. Not idempotent.
 */
create or replace function private.rate_acquire(p_key text, p_rpm integer, p_tpm integer, p_tokens integer)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  now_ts timestamptz := clock_timestamp();
  req double precision;
  tok double precision;
  cap_req double precision := greatest(1.0, p_rpm / 60.0);
  cap_tok double precision := p_tpm / 6.0;
  need_tok double precision := least(greatest(p_tokens, 0), p_tpm / 6.0);
  wait_req double precision := 0;
  wait_tok double precision := 0;
begin
  insert into private.rate_buckets (key, tokens, updated_at) values (p_key || ':rpm', cap_req, now_ts), (p_key || ':tpm', cap_tok, now_ts)
  on conflict (key) do nothing;
  select least(cap_req, b.tokens + extract(epoch from now_ts - b.updated_at) * p_rpm / 60.0) into req
    from private.rate_buckets b where b.key = p_key || ':rpm' for update;
  select least(cap_tok, b.tokens + extract(epoch from now_ts - b.updated_at) * p_tpm / 60.0) into tok
    from private.rate_buckets b where b.key = p_key || ':tpm' for update;
  if req < 1 then wait_req := (1 - req) * 60000.0 / p_rpm; end if;
  if tok < need_tok then wait_tok := (need_tok - tok) * 60000.0 / p_tpm; end if;
  if wait_req > 0 or wait_tok > 0 then
    update private.rate_buckets set tokens = case when key like '%:rpm' then req else tok end, updated_at = now_ts
     where key in (p_key || ':rpm', p_key || ':tpm');
    return ceil(greatest(wait_req, wait_tok))::integer;
  end if;
  update private.rate_buckets set tokens = case when key like '%:rpm' then req - 1 else tok - need_tok end, updated_at = now_ts
   where key in (p_key || ':rpm', p_key || ':tpm');
  return 0;
end $$;
comment on function private.rate_acquire(text, integer, integer, integer) is
  'Token-bucket rate limit shared by all invocations: returns 0 and takes one request + tokens, or the ms to wait.';

revoke all on function private.rate_acquire(text, integer, integer, integer) from public, anon, authenticated;
grant execute on function private.rate_acquire(text, integer, integer, integer) to service_role;
