-- Retrieval over the caller's current generation with its own vector index, or exactly.
--
-- public.nearest_chunks keeps its signature and contract (the k nearest of the caller's current
-- generation, never fewer than exact search finds), with two paths instead of a walk through the
-- shared index:
--   * a generation with its own HNSW index (large ones, built by the vector_index stage): the
--     600 nearest by a walk of that index (or by an exact scan of its table when a probe shows the
--     walk missed a region), the first k + 20 re-ranked by exact distance;
--   * any other (small ones, or a large one whose index is not built yet): exact distances over the
--     halfvec copy kept in each row (about 1 us a chunk), the nearest k + 20 re-ranked with the full
--     vectors so distances and order are exact.
-- No vector index remains on conversation_chunks, so no cached generic plan can pick one; plans
-- are still made for each call's values (force_custom_plan): after five calls plpgsql switched to a
-- generic plan that read a 6,000-chunk generation in 17 ms instead of 6 ms (planning costs ~0.1 ms).

/*
 * public.generation_index_chunks(query_embedding, k default 200, need default 30) -> table(id, distance, exact)
 * Up to k candidates nearest to `query_embedding` from the caller's current generation's own
 * vector index (HNSW, halfvec distances); none when it has no index. When the walk missed a
 * region (a vector of the probe table, every 16th, scanned exactly, is nearer than the walk's
 * `need`-th answer and was not returned), the k nearest by an exact scan of the same table
 * (`exact` says which).
 *
 * Security definer, because the index tables live in the private schema; it reaches only the
 * caller's own current generation (auth.uid() -> profile -> generation), takes no argument naming
 * a user or an import, and returns ids and distances only (nearest_chunks reads and re-ranks them
 * under RLS). A table dropped while a search was on its way (a re-import swapped in) reads as none.
 */
create or replace function public.generation_index_chunks(
  query_embedding extensions.vector(768), k integer default 200, need integer default 30
)
returns table (id uuid, distance double precision, exact boolean)
language plpgsql stable security definer rows 200
set search_path = ''
set hnsw.ef_search = '200'
set hnsw.iterative_scan = 'relaxed_order'
set jit = 'off'
as $$
declare
  rel text;
  q extensions.halfvec(768) := query_embedding::extensions.halfvec(768);
  ids uuid[];
  ds double precision[];
  missed boolean;
begin
  if query_embedding is null then return; end if;
  select g.relname into rel
    from public.user_profiles p join private.generation_vector_indexes g on g.job_id = p.generation_id
   where p.user_id = auth.uid();
  if rel is null then return; end if;
  k := least(greatest(coalesce(k, 200), 1), 1000);
  need := least(greatest(coalesce(need, 30), 1), k);
  execute format(
    'select array_agg(a.id order by a.d), array_agg(a.d order by a.d) from (
       select a.id, (a.embedding operator(extensions.<=>) $1)::float8 as d from private.%I a
        order by a.embedding operator(extensions.<=>) $1 limit $2) a', rel)
    into ids, ds using q, k;
  execute format(
    'select exists (select from (select p.id, p.embedding operator(extensions.<=>) $1 as d from private.%I p
                                  order by 2 limit $2) p
                     where p.d < $3 and p.id <> all($4))', rel || '_probe')
    into missed using q, need, coalesce(ds[need], 'infinity'), coalesce(ids, '{}');
  if missed then
    -- Exact over the generation's own narrow table (1.6 KB rows; `+ 0` keeps the index out):
    -- 53 ms for 78,000 vectors on one core, 34 ms with two parallel workers, against 92-160 ms
    -- over the same rows in conversation_chunks.
    return query execute format(
      'select a.id, (a.embedding operator(extensions.<=>) $1)::float8, true from private.%I a
        order by (a.embedding operator(extensions.<=>) $1) + 0 limit $2', rel)
      using q, k;
    return;
  end if;
  return query select u.id, u.d, false from unnest(ids, ds) as u(id, d);
exception when undefined_table then
  return;
end
$$;
comment on function public.generation_index_chunks(extensions.vector, integer, integer) is
  'Candidates from the caller''s current generation''s own HNSW index (ids, halfvec distances). Security definer, scoped to auth.uid().';

/*
 * public.nearest_chunks(query_embedding, k default 30) -> table(id, distance)
 * The k chunks of the caller's current generation nearest to `query_embedding` (cosine distance),
 * nearest first. Security invoker: RLS and auth.uid() decide whose rows are seen. Stable.
 */
create or replace function public.nearest_chunks(query_embedding extensions.vector(768), k integer default 30)
returns table (id uuid, distance double precision)
language plpgsql stable security invoker rows 30
set search_path = ''
set jit = 'off'
set plan_cache_mode = 'force_custom_plan'
as $$
#variable_conflict use_column
declare
  gen uuid;
  cand uuid[];
  ids uuid[];
  ds double precision[];
begin
  if query_embedding is null then return; end if;
  k := least(greatest(coalesce(k, 30), 1), 100);
  select p.generation_id into gen from public.user_profiles p where p.user_id = (select auth.uid());
  if gen is null then return; end if;
  -- The walk's 600 nearest (by their exact halfvec distance), of which the first k + 20 are
  -- re-ranked in full precision. The probe guards the first 10 (what a person reads; checking all
  -- 30 that hybrid search fuses sent twice as many searches to the exact path for little gain). A longer walk finds more of the true neighbours: measured on a
  -- 78,000-chunk history (bench/search.ts), recall@10 0.89 with 200, 0.97 with 600.
  select array_agg(g.id) into cand from (
    select g.id from public.generation_index_chunks(query_embedding, greatest(k, 600), least(k, 10)) g
     order by g.distance limit k + 20) g;
  if cand is not null then
    select array_agg(a.id order by a.d), array_agg(a.d order by a.d) into ids, ds from (
      select c.id, c.embedding operator(extensions.<=>) query_embedding as d
        from public.conversation_chunks c
       where c.id = any(cand) and c.job_id = gen
       order by 2 limit k) a;
    if coalesce(array_length(ids, 1), 0) >= k then
      return query select u.id, u.d from unnest(ids, ds) as u(id, d);
      return;
    end if;
  end if;
  -- Exact: halfvec distances over the generation's rows, the nearest k + 20 re-ranked in full precision.
  return query
    with near as materialized (
      select c.id
        from public.conversation_chunks c
       where c.job_id = gen and c.embedding_half is not null
       order by c.embedding_half operator(extensions.<=>) query_embedding::extensions.halfvec(768)
       limit k + 20)
    select c.id, c.embedding operator(extensions.<=>) query_embedding as d
      from near join public.conversation_chunks c on c.id = near.id
     order by 2 limit k;
end
$$;
comment on function public.nearest_chunks(extensions.vector, integer) is
  'The k nearest chunks of the caller''s current generation (its own HNSW index when it has one, else exact). Security invoker.';

revoke all on function public.generation_index_chunks(extensions.vector, integer, integer) from public, anon;
grant execute on function public.generation_index_chunks(extensions.vector, integer, integer) to authenticated, service_role;
