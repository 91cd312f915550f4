-- Search, the vector index build and the schema's dimension read vectors from public.chunk_embeddings.
--
-- Same behaviour as 20261130040100_center_generation_vector_indexes.sql; only the table the
-- vectors come from changes (20261207010000 says why). An exact scan of a generation now reads
-- its narrow vector rows by job, not its chunk rows.

/* The dimension of public.chunk_embeddings.embedding, read from the catalog. Stable. */
create or replace function private.embedding_dimension() returns integer
language sql stable security definer set search_path = '' as $$
  select a.atttypmod from pg_catalog.pg_attribute a
   where a.attrelid = 'public.chunk_embeddings'::regclass and a.attname = 'embedding'
$$;

/*
 * private.build_generation_vector_index(job_id) -> jsonb {built, vectors, build_ms}
 * As in 20261130040100 (one HNSW and one IVF index over the generation's centred unit vectors, and
 * a probe table of every 16th), over the job's rows of public.chunk_embeddings.
 */
create or replace function private.build_generation_vector_index(p_job_id uuid) returns jsonb
language plpgsql security definer set search_path = ''
set maintenance_work_mem = '256MB'
as $$
declare
  rel text := 'generation_vectors_' || replace(p_job_id::text, '-', '');
  n integer;
  mean extensions.vector(768);
  t0 timestamptz := clock_timestamp();
  ms integer;
begin
  delete from private.generation_vector_indexes where job_id = p_job_id;
  select count(*), extensions.avg(extensions.l2_normalize(embedding_half)::extensions.vector(768))
    into n, mean
    from public.chunk_embeddings where job_id = p_job_id;
  if n <= private.exact_search_max_chunks() then
    return jsonb_build_object('built', false, 'vectors', n, 'build_ms', 0);
  end if;
  execute format('create table private.%I (id uuid not null, embedding extensions.halfvec(768) not null)', rel);
  execute format('alter table private.%I alter column embedding set storage main', rel);
  execute format('insert into private.%I (id, embedding)
                  select chunk_id, (extensions.l2_normalize(embedding_half)::extensions.vector(768)
                                    operator(extensions.-) $2)::extensions.halfvec(768)
                    from public.chunk_embeddings
                   where job_id = $1', rel) using p_job_id, mean;
  perform set_config('maintenance_work_mem',
    coalesce(nullif(current_setting('soulprint.vector_index_build_memory', true), ''), '256MB'), true);
  execute format('create index on private.%I using hnsw (embedding extensions.halfvec_ip_ops)
                  with (m = 16, ef_construction = 64)', rel);
  execute format('create index on private.%I using ivfflat (embedding extensions.halfvec_cosine_ops)
                  with (lists = %s)', rel, private.vector_index_lists(n));
  execute format('create table private.%I as select id, embedding from private.%I
                   where (hashtext(id::text) & 15) = 0', rel || '_probe', rel);
  ms := (extract(epoch from clock_timestamp() - t0) * 1000)::integer;
  insert into private.generation_vector_indexes (job_id, relname, vectors, build_ms, centre)
  values (p_job_id, rel, n, ms, mean);
  return jsonb_build_object('built', true, 'vectors', n, 'build_ms', ms);
end $$;

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
