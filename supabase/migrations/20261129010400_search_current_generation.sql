-- Retrieval over the caller's current generation only, right for every user in a shared table.
--
-- An HNSW index over every user's chunks returns the nearest neighbours across all users; a user
-- filter applied afterwards then discards most of them, so an ordinary user next to a heavy one got
-- a third of their results. Two paths instead, chosen per call by the size of the generation:
--   * up to 3,000 chunks (setting `soulprint.exact_search_max_chunks`): exact distances over the generation's rows (btree on job_id). A
--     materialized CTE keeps the planner from ever reaching for the shared HNSW index here.
--   * above: the HNSW index with pgvector 0.8's iterative scan, so the index keeps walking until
--     enough of the caller's rows pass the filter (relaxed order, re-sorted exactly afterwards);
--     sorting is disabled inside the function so that a generic plan cannot fall back to sorting
--     exact distances over a 100k-chunk history (the slow plan the planner otherwise prefers).
--     JIT is off: the disabled-sort penalty inflates plan costs past jit_above_cost, and compiling
--     a plan (70-110 ms) would cost more than the whole search.
--     If the walk still yields fewer rows than the generation holds (its `hnsw.max_scan_tuples`
--     ran out in a table dominated by other users), the exact path answers instead: never fewer
--     results than exact search.
-- The threshold and ef_search were chosen by measurement (bench/search.ts; docs/ARCHITECTURE.md).

/*
 * public.nearest_chunks(query_embedding, k default 30) -> table(id, distance)
 * The k chunks of the caller's current generation nearest to `query_embedding` (cosine distance),
 * nearest first. Security invoker: RLS and auth.uid() decide whose rows are seen. Stable.
 */
create or replace function public.nearest_chunks(query_embedding extensions.vector(768), k integer default 30)
returns table (id uuid, distance double precision)
language plpgsql stable security invoker
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
    select array_agg(a.id order by a.d), array_agg(a.d order by a.d) into ids, ds from (
      select c.id, c.embedding operator(extensions.<=>) query_embedding as d
        from public.conversation_chunks c
       where c.job_id = gen and c.embedding is not null
       order by c.embedding operator(extensions.<=>) query_embedding
       limit k) a;
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
 * generation. Full-text candidates are bounded per term (all chunks with a rare term, the 60 most
 * recent with a common one) so a common word in a 100k-chunk history costs no more than a rare one. Same signature and result as before; plpgsql so its plans are cached per session.
 */
create or replace function public.hybrid_search_chunks(
  keywords text, query_embedding extensions.vector(768) default null, match_count integer default 10,
  keyword_weight double precision default 1.5, vector_weight double precision default 1.0, rrf_k integer default 60
) returns table (id uuid, conversation_id text, title text, content text, created_at timestamptz, rrf_score double precision, method text)
language plpgsql stable security invoker set search_path = '' as $$
#variable_conflict use_column
declare
  gen uuid;
begin
  select p.generation_id into gen from public.user_profiles p where p.user_id = (select auth.uid());
  if gen is null then return; end if;
  return query
  with kw as (
    -- Candidates per search term: every chunk holding a rare term, the 60 most recent holding a
    -- common one; ranking (which reads each candidate's tsvector out of TOAST) then costs at most a
    -- few hundred reads, where ranking every match of a common word in a large history cost ~1 s.
    select k.id, row_number() over (order by ts_rank_cd(k.fts, q) desc, k.created_at desc) as rn
      from to_tsquery('simple', coalesce(nullif(keywords, ''), 'a & !a')) q,
           lateral (
             select distinct t.id, t.created_at, t.fts
               from unnest(tsvector_to_array(to_tsvector('simple', coalesce(keywords, '')))) lx,
                    lateral (select c.id, c.created_at, c.fts
                               from public.conversation_chunks c
                              where c.job_id = gen and c.fts @@ quote_literal(lx)::tsquery
                              order by c.created_at desc limit 60) t
           ) k
     where nullif(keywords, '') is not null and k.fts @@ q
     order by rn limit 30
  ), vec as (
    select n.id, row_number() over (order by n.distance) as rn
      from public.nearest_chunks(query_embedding, 30) n
  ), fused as (
    select coalesce(kw.id, vec.id) as id,
           coalesce(keyword_weight / (rrf_k + kw.rn), 0) + coalesce(vector_weight / (rrf_k + vec.rn), 0) as score,
           case when kw.id is not null and vec.id is not null then 'hybrid' when kw.id is not null then 'keyword' else 'vector' end as method
      from kw full join vec on kw.id = vec.id
  )
  select c.id, c.conversation_id, c.title, c.content, c.created_at, round(f.score::numeric, 4)::double precision, f.method
    from fused f join public.conversation_chunks c on c.id = f.id
   order by f.score desc, c.created_at desc
   limit least(greatest(match_count, 1), 50);
end
$$;

revoke all on function public.nearest_chunks(extensions.vector, integer) from public, anon;
grant execute on function public.nearest_chunks(extensions.vector, integer) to authenticated, service_role;
