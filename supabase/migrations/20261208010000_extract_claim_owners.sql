-- Extraction's claims (20261130040200_extract_first_messages.sql) read back who owns each text
-- they claimed, one primary-key probe per hash. The table fills from empty during every import,
-- so its statistics describe a table without this job's rows, and the planner costed each probe
-- as a sequential scan: 0.14 ms a hash at 3,500 claims and 1.2 ms at 30,000, where the index
-- takes 3 us (88 ms a call, 122 s of database time in a 1 GB import). No rewrite of the query
-- kept it from that choice (a LIMIT or ORDER BY in the lateral probe, a plain join: worse), so
-- the probe runs in a function whose plan has sequential scans disabled.

/*
 * private.extract_claim_owners(job_id, hashes) -> table(hash, conversation_id, message_index)
 * Where each claimed text of the job is read, for the hashes given (one row per hash found).
 * Stable; sequential scans off for its plan.
 */
create or replace function private.extract_claim_owners(p_job uuid, p_hashes uuid[])
returns table (hash uuid, conversation_id text, message_index integer)
language sql stable set search_path = '' set enable_seqscan = off as $$
  select f.hash, f.conversation_id, f.message_index
    from unnest(p_hashes) as h(hash)
    cross join lateral (select * from private.extract_first_messages f
                         where f.job_id = p_job and f.hash = h.hash offset 0) f
$$;
revoke all on function private.extract_claim_owners(uuid, uuid[]) from public, anon, authenticated;
grant execute on function private.extract_claim_owners(uuid, uuid[]) to service_role;
