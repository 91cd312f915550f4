-- Search and the schema's dimension read vectors from public.chunk_embeddings.
--
-- Same behaviour as 20261130040100_center_generation_vector_indexes.sql; only the table the
-- vectors come from changes (20261207010000 says why). An exact scan of a generation now reads
-- its narrow vector rows by job, not its chunk rows. The vector index build moves over in the
-- next migration.

/* The dimension of public.chunk_embeddings.embedding, read from the catalog. Stable. */
create or replace function private.embedding_dimension() returns integer
language sql stable security definer set search_path = '' as $$
  select a.atttypmod from pg_catalog.pg_attribute a
   where a.attrelid = 'public.chunk_embeddings'::regclass and a.attname = 'embedding'
$$;

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
  -- The index's 200 nearest (by their halfvec distance), of which the first k + 20 are re-ranked
  -- in full precision; the probe guards the first 10 (20261130040100 says why).
  select array_agg(g.id) into cand from (
    select g.id from public.generation_index_chunks(query_embedding, greatest(k, 200), least(k, 10)) g
     order by g.distance limit k + 20) g;
  if cand is not null then
    select array_agg(a.id order by a.d), array_agg(a.d order by a.d) into ids, ds from (
      select e.chunk_id as id, e.embedding operator(extensions.<=>) query_embedding as d
        from public.chunk_embeddings e
       where e.chunk_id = any(cand) and e.job_id = gen
       order by 2 limit k) a;
    if coalesce(array_length(ids, 1), 0) >= k then
      return query select u.id, u.d from unnest(ids, ds) as u(id, d);
      return;
    end if;
  end if;
  -- Exact: halfvec distances over the generation's vectors, the nearest k + 20 re-ranked in full precision.
  return query
    with near as materialized (
      select e.chunk_id
        from public.chunk_embeddings e
       where e.job_id = gen
       order by e.embedding_half operator(extensions.<=>) query_embedding::extensions.halfvec(768)
       limit k + 20)
    select e.chunk_id, e.embedding operator(extensions.<=>) query_embedding as d
      from near join public.chunk_embeddings e on e.chunk_id = near.chunk_id
     order by 2 limit k;
end
$$;
comment on function public.nearest_chunks(extensions.vector, integer) is
  'The k nearest chunks of the caller''s current generation (its own HNSW index when it has one, else exact). Security invoker.';
