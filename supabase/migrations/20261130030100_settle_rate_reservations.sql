-- A model call gives back the tokens it reserved and did not use.
--
-- private.rate_acquire charges a request its estimate before it is sent: the prompt plus the whole
-- max_tokens, since the answer's length is unknown. Answers are usually far shorter, so with a
-- binding tokens-per-minute limit the bucket stayed drained by tokens nobody used and extraction
-- ran at 0.63 of what the limit allows. Once the answer reports its usage, the difference is
-- settled here: given back when the estimate was high, taken (the bucket may go below zero, and
-- the next request waits for it) when it was low, so the bucket follows what was really used.

/*
 * private.rate_settle(key, tpm, reserved, used) -> void
 * Settles one request's token reservation on the `<key>:tpm` bucket: what rate_acquire took for
 * `reserved` (it caps a request at the bucket's size, so the same cap applies here) less `used`,
 * refilled to now and capped at the bucket's size like rate_acquire. A missing bucket is left alone.
 */
create or replace function private.rate_settle(p_key text, p_tpm integer, p_reserved integer, p_used integer)
returns void
language plpgsql security definer set search_path = '' as $$
declare
  now_ts timestamptz := clock_timestamp();
  cap_tok double precision := p_tpm / 6.0;
  back double precision := least(greatest(p_reserved, 0), p_tpm / 6.0) - greatest(p_used, 0);
begin
  update private.rate_buckets b
     set tokens = least(cap_tok, b.tokens + extract(epoch from now_ts - b.updated_at) * p_tpm / 60.0 + back),
         updated_at = now_ts
   where b.key = p_key || ':tpm';
end $$;
comment on function private.rate_settle(text, integer, integer, integer) is
  'Gives back to (or takes from) the tokens bucket the difference between a request''s reservation and its reported usage.';

revoke all on function private.rate_settle(text, integer, integer, integer) from public, anon, authenticated;
grant execute on function private.rate_settle(text, integer, integer, integer) to service_role;
