-- Retrieval over the caller's current generation only, right for every user in a shared table.
--
-- An HNSW index over every user's chunks returns the nearest neighbours across all users; a user
-- filter applied afterwards then discards most of them, so an ordinary user next to a heavy one got
-- a third of their results. Two paths instead, chosen per call by the size of the generation:
--   * up to 3,000 chunks (setting `soulprint.exact_search_max_chunks`): exact distances over the
--     generation's rows (btree on job_id; about 9 us a row, since vectors live in TOAST). A
--     materialized CTE keeps the planner from ever reaching for the shared HNSW index here.
--   * above: the HNSW index with pgvector 0.8's iterative scan, so the index keeps walking until
--     enough of the caller's rows pass the filter (relaxed order, re-sorted exactly afterwards);
--     sorting is disabled inside the function so that a generic plan cannot fall back to sorting
--     exact distances over a 100k-chunk history (the slow plan the planner otherwise prefers).
--     JIT is off: the disabled-sort penalty inflates plan costs past jit_above_cost, and compiling
--     a plan (70-110 ms) would cost more than the whole search.
--     If the walk yields fewer rows than asked (its `hnsw.max_scan_tuples` ran out in a table
--     dominated by other users), the exact path answers instead: never fewer results than exact.
-- The threshold and ef_search were chosen by measurement (bench/search.ts; docs/ARCHITECTURE.md).

/*
 * public.nearest_chunks(query_embedding, k default 30) -> table(id, distance)
 * The k chunks of the caller's current generation nearest to `query_embedding` (cosine distance),
 * nearest first. Security invoker: RLS and auth.uid() decide whose rows are seen. Stable.
 */
create or replace function public.nearest_chunks(query_embedding extensions.vector(768), k integer default 30)
returns table (id uuid, distance double precision)
language plpgsql stable security invoker rows 30
set search_path = ''
set hnsw.iterative_scan = 'relaxed_order'
set hnsw.ef_search = '100'
set hnsw.max_scan_tuples = '50000'
set enable_sort = 'off'
set jit = 'off'
as $$
#variable_conflict use_column
declare
  exact_threshold integer := coalesce(nullif(current_setting('soulprint.exact_search_max_chunks', true), '')::integer, 3000);
  gen uuid;
  n integer;
  ids uuid[];
  ds double precision[];
begin
  if query_embedding is null then return; end if;
  k := least(greatest(coalesce(k, 30), 1), 100);
  select p.generation_id into gen from public.user_profiles p where p.user_id = (select auth.uid());
  if gen is null then return; end if;
  select j.chunk_count into n from public.processing_jobs j where j.id = gen;
  if coalesce(n, 0) > exact_threshold then
    -- More candidates than asked, re-ranked by their exact distance: the walk's first few are not
    -- always the nearest, least of all for a question nothing in the history is close to. Measured
    -- (bench/search.ts, 20 questions): on a 78,000-chunk history recall@10 against exact was 0.84
    -- with 100 candidates, 0.92 with 200, 0.94 with 400, 0.99 with 600 (hybrid p95 20-30 ms); on a
    -- 6,000-chunk one beside it 0.97 with 100 and 0.99 with 200, but 600 cost a p95 of 108 ms, since
    -- a history that is a small share of the table pays for every other user's tuple the walk
    -- passes. ef_search 100 -> 200 alone changed nothing; strict order lowered recall (0.81 at 200).
    select array_agg(a.id order by a.d), array_agg(a.d order by a.d) into ids, ds from (
      select c.id, c.embedding operator(extensions.<=>) query_embedding as d
        from public.conversation_chunks c
       where c.job_id = gen and c.embedding is not null
       order by c.embedding operator(extensions.<=>) query_embedding
       limit greatest(k, case when n > 20000 then 600 else 200 end)) a;
    ids := ids[1:k];
    ds := ds[1:k];
    if coalesce(array_length(ids, 1), 0) >= k then
      return query select u.id, u.d from unnest(ids, ds) as u(id, d);
      return;
    end if;
  end if;
  return query
    with mine as materialized (
      select c.id, c.embedding operator(extensions.<=>) query_embedding as d
        from public.conversation_chunks c
       where c.job_id = gen and c.embedding is not null)
    select mine.id, mine.d from mine order by mine.d limit k;
end
$$;
comment on function public.nearest_chunks(extensions.vector, integer) is
  'The k nearest chunks of the caller''s current generation (exact, or HNSW iterative scan for large ones). Security invoker.';

/*
 * public.keyword_chunks(keywords, k default 30) -> table(id, rank)
 * The k chunks of the caller's current generation that best match `keywords` (a to_tsquery('simple')
 * expression such as 'kyoto | trip'), by ts_rank_cd, most recent first among equals.
 *
 * Security definer, on purpose. Under row-level security PostgreSQL may use only leakproof
 * operators as index conditions, and the full-text match (`@@`) is not leakproof: as the user, no
 * plan can use the full-text index, and every search read every one of the person's tsvectors
 * (1-2 s for a 1 GB history). As definer it can; it still reaches only the caller's rows: the
 * generation comes from the caller's own profile (auth.uid()), every statement also filters on
 * user_id = auth.uid(), no argument names a user or an import, and it returns ids and ranks only
 * (hybrid_search_chunks reads the content under RLS).
 *
 * Candidates are gathered per search term, at most 60 each, straight from the full-text index
 * (stopping at 60): ranking reads each candidate's tsvector out of TOAST, and ranking every match of
 * a common word in a large history (thousands of rows) would cost about a second; a rare term
 * brings all its chunks. Each term's query is planned with its real values (dynamic SQL) and with
 * bitmap scans only. Stable.
 */
create or replace function public.keyword_chunks(keywords text, k integer default 30)
returns table (id uuid, rank real)
language plpgsql stable security definer rows 30
set search_path = ''
set enable_seqscan = 'off'
set enable_indexscan = 'off'
set jit = 'off'
as $$
#variable_conflict use_column
declare
  me uuid;
  gen uuid;
  q tsquery;
  lx text;
  part uuid[];
  cand uuid[] := '{}';
begin
  if nullif(btrim(coalesce(keywords, '')), '') is null then return; end if;
  me := auth.uid();
  select p.generation_id into gen from public.user_profiles p where p.user_id = me;
  if me is null or gen is null then return; end if;
  q := to_tsquery('simple', keywords);
  k := least(greatest(coalesce(k, 30), 1), 100);
  for lx in select unnest(tsvector_to_array(to_tsvector('simple', keywords))) loop
    execute format('select array_agg(t.id) from (select c.id from public.conversation_chunks c
                     where c.job_id = %L and c.user_id = %L and c.fts @@ %L::tsquery limit 60) t',
                   gen, me, quote_literal(lx))
      into part;
    cand := cand || coalesce(part, '{}');
  end loop;
  return query
    select c.id, ts_rank_cd(c.fts, q) as rank
      from public.conversation_chunks c
     where c.id = any(cand) and c.user_id = me and c.fts @@ q
     order by 2 desc, c.created_at desc
     limit k;
end
$$;
comment on function public.keyword_chunks(text, integer) is
  'Full-text search over the caller''s current generation (ids and ranks only), candidates bounded per term. '
  'Security definer so the full-text index can be used; scoped to auth.uid().';

/*
 * public.match_conversation_chunks(query_embedding, match_count default 10, match_threshold default 0.3)
 * Chunks of the caller's current generation by cosine similarity above the threshold, best first
 * (at most 50). Same signature and result as before.
 */
create or replace function public.match_conversation_chunks(
  query_embedding extensions.vector(768), match_count integer default 10, match_threshold double precision default 0.3
) returns table (id uuid, conversation_id text, title text, content text, created_at timestamptz, similarity double precision)
language sql stable security invoker set search_path = '' as $$
  select c.id, c.conversation_id, c.title, c.content, c.created_at, 1 - n.distance as similarity
    from public.nearest_chunks(query_embedding, least(greatest(match_count, 1), 50)) n
    join public.conversation_chunks c on c.id = n.id
   where 1 - n.distance > match_threshold
   order by n.distance
$$;

/*
 * public.hybrid_search_chunks(keywords, query_embedding, match_count, keyword_weight, vector_weight, rrf_k)
 * Reciprocal rank fusion of up to 30 full-text and 30 vector hits of the caller's current
 * generation (keyword_chunks and nearest_chunks), fused by rank. Same signature and result as before. Same signature and result as before; plpgsql so its plans are cached per session.
 */
create or replace function public.hybrid_search_chunks(
  keywords text, query_embedding extensions.vector(768) default null, match_count integer default 10,
  keyword_weight double precision default 1.5, vector_weight double precision default 1.0, rrf_k integer default 60
) returns table (id uuid, conversation_id text, title text, content text, created_at timestamptz, rrf_score double precision, method text)
language plpgsql stable security invoker set search_path = '' as $$
#variable_conflict use_column
declare
  ids uuid[];
  scores double precision[];
  methods text[];
begin
  with kw as (
    select k.id, k.rn from public.keyword_chunks(keywords, 30) with ordinality as k(id, rank, rn)
  ), vec as (
    select n.id, n.rn from public.nearest_chunks(query_embedding, 30) with ordinality as n(id, distance, rn)
  ), fused as (
    select coalesce(kw.id, vec.id) as id,
           coalesce(keyword_weight / (rrf_k + kw.rn), 0) + coalesce(vector_weight / (rrf_k + vec.rn), 0) as score,
           case when kw.id is not null and vec.id is not null then 'hybrid' when kw.id is not null then 'keyword' else 'vector' end as method
      from kw full join vec on kw.id = vec.id
  )
  select array_agg(f.id), array_agg(f.score), array_agg(f.method) into ids, scores, methods from fused f;
  -- Content is read under RLS, by primary key (a join here was planned as a scan of all the user's rows).
  return query
  with c as materialized (
    select c.id, c.conversation_id, c.title, c.content, c.created_at
      from public.conversation_chunks c where c.id = any(ids)
  )
  select c.id, c.conversation_id, c.title, c.content, c.created_at, round(u.score::numeric, 4)::double precision, u.method
    from unnest(ids, scores, methods) as u(id, score, method) join c on c.id = u.id
   order by u.score desc, c.created_at desc
   limit least(greatest(match_count, 1), 50);
end
$$;

revoke all on function public.nearest_chunks(extensions.vector, integer), public.keyword_chunks(text, integer)
  from public, anon;
grant execute on function public.nearest_chunks(extensions.vector, integer), public.keyword_chunks(text, integer)
  to authenticated, service_role;
