-- A generation's vector index is built over its vectors with their common direction taken out.
--
-- Embeddings of one person's history share a large common component (the mean of a generated
-- 78,000-chunk history's unit vectors has length 0.71): every chunk looks alike from a query, and
-- an HNSW walk over them wandered among the long chunks and missed whole topics. For unit vectors
-- x and any query q, q·x = q·(x - c) + q·c, and q·c is the same for every chunk: ranking by the
-- inner product with x - c (c the mean) is exactly ranking by cosine distance to x. A graph over
-- x - c (inner-product operator class) spreads the chunks apart. Measured on that history, 30
-- questions, against exact search: the walk's recall@10 0.877 -> 0.927 (600 read) and 0.837 ->
-- 0.917 (100 read); with the probe below, 0.943 -> 0.993, the same two questions answered exactly.
--
-- One question in ten of the search benchmark ("How do I feel about my job?") still sent the walk
-- into the wrong region, and its exact fallback costs ~45 ms. The same table now also carries an
-- IVF index (cosine over the centred vectors, one list per 800 vectors, a twentieth of them
-- probed): its k nearest join the walk's, both ranked by the inner product, before the probe
-- decides. The two miss different things (IVF alone: recall 0.81, yet it answers that question).
-- 40 questions (20 of which the benchmark never asks), against exact search: recall@10 0.985,
-- 2 of 40 answered exactly (the centred graph alone, on 30 of them: 0.98-0.99, 2 of 30). Cost: the IVF
-- build (3-7 s for 78,000 vectors) and its copy of the vectors (122 MB for 78,000). A separate
-- table under an inner-product IVF index did as well but kept the vectors twice more. The walk
-- reads 200 candidates instead of 600 (nearest_chunks, below): a third of the time.

-- private.generation_vector_indexes.centre holds c; an index built before it (centre null) keeps
-- cosine distances over the raw vectors until its generation is rebuilt or replaced, and
-- public.generation_index_chunks serves both. Vectors are normalised before centring, so a
-- provider whose vectors are not unit length ranks the same.

alter table private.generation_vector_indexes add column if not exists centre extensions.vector(768);
comment on column private.generation_vector_indexes.centre is
  'Mean of the generation''s unit vectors; the index table holds each unit vector minus it (inner product). '
  'Null: an older index of raw vectors (cosine).';

/*
 * private.vector_index_lists(n) -> integer: IVF lists for n vectors, one per 800 (pgvector suggests
 * n / 1000 up to a million rows): 98 for 78,000. Its k-means then takes 3-7 s; with sqrt(n) lists
 * (279) it took 4-29 s from one build to the next. Searches probe a twentieth of them
 * (private.vector_index_probes). Immutable.
 */
create or replace function private.vector_index_lists(n integer) returns integer
language sql immutable set search_path = '' as $$ select greatest(round(n / 800.0)::integer, 1) $$;

/* private.vector_index_probes(n) -> integer: the IVF lists a search of n vectors reads (1 in 20). Immutable. */
create or replace function private.vector_index_probes(n integer) returns integer
language sql immutable set search_path = '' as $$ select ceil(private.vector_index_lists(n) / 20.0)::integer $$;

/*
 * private.build_generation_vector_index(job_id) -> jsonb {built, vectors, build_ms}
 * Builds (or rebuilds: idempotent) the HNSW index of an import's vectors when it holds more than
 * private.exact_search_max_chunks() of them; a smaller one gets none (and loses any older one).
 * The index table holds each unit vector less the generation's mean (halfvec) under two indexes:
 * HNSW (inner product) and IVF (cosine, private.vector_index_lists(n) lists); the probe table
 * holds every 16th row. Runs in the caller's transaction: the tables are new and
 * private, so no reader waits on the build, and a failed build leaves nothing. The graph is built
 * in memory within maintenance_work_mem = setting soulprint.vector_index_build_memory (default
 * 256MB: about 3.3 KB a vector); past it pgvector continues on disk, slower but correct.
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
    from public.conversation_chunks where job_id = p_job_id and embedding_half is not null;
  if n <= private.exact_search_max_chunks() then
    return jsonb_build_object('built', false, 'vectors', n, 'build_ms', 0);
  end if;
  execute format('create table private.%I (id uuid not null, embedding extensions.halfvec(768) not null)', rel);
  execute format('alter table private.%I alter column embedding set storage main', rel);
  execute format('insert into private.%I (id, embedding)
                  select id, (extensions.l2_normalize(embedding_half)::extensions.vector(768)
                              operator(extensions.-) $2)::extensions.halfvec(768)
                    from public.conversation_chunks
                   where job_id = $1 and embedding_half is not null', rel) using p_job_id, mean;
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
 * public.generation_index_chunks(query_embedding, k default 200, need default 30) -> table(id, distance, exact)
 * Up to k candidates nearest to `query_embedding` from the caller's current generation's own
 * vector index (an HNSW walk, and for a centred index also its IVF index: up to 2k), with their cosine distances as the index's halfvec copies give them; none
 * when it has no index. When the walk missed a region (a vector of the probe table, every 16th,
 * scanned exactly, is nearer than the walk's `need`-th answer and was not returned), the k nearest
 * by an exact scan of the same table (`exact` says which).
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
  mean extensions.vector(768);
  n integer;
  op text := 'operator(extensions.<=>)';
  q extensions.halfvec(768) := query_embedding::extensions.halfvec(768);
  -- distance = a + b * score: the score is the cosine distance itself for an index of raw vectors,
  -- the negative inner product with the centred vector otherwise (1 - (q·c - score) / |q|).
  a double precision := 0;
  b double precision := 1;
  ids uuid[];
  ss double precision[];
  missed boolean;
begin
  if query_embedding is null then return; end if;
  select g.relname, g.centre, g.vectors into rel, mean, n
    from public.user_profiles p join private.generation_vector_indexes g on g.job_id = p.generation_id
   where p.user_id = auth.uid();
  if rel is null then return; end if;
  if mean is not null then
    op := 'operator(extensions.<#>)';
    b := 1 / nullif(extensions.vector_norm(query_embedding), 0);
    if b is null then return; end if;
    a := 1 + (query_embedding operator(extensions.<#>) mean) * b;
  end if;
  k := least(greatest(coalesce(k, 200), 1), 1000);
  need := least(greatest(coalesce(need, 30), 1), k);
  if mean is null then
    execute format(
      'select array_agg(a.id order by a.s), array_agg(a.s order by a.s) from (
         select a.id, (a.embedding %1$s $1)::float8 as s from private.%2$I a
          order by a.embedding %1$s $1 limit $2) a', op, rel)
      into ids, ss using q, k;
  else
    -- The graph's walk and the IVF index's k nearest (by cosine over the centred vectors: it only
    -- proposes; both are ranked by the inner product), each id once.
    perform set_config('ivfflat.probes', private.vector_index_probes(n)::text, true);
    execute format(
      'select array_agg(a.id order by a.s), array_agg(a.s order by a.s) from (
         select a.id, min(a.s) as s from (
           (select a.id, (a.embedding %1$s $1)::float8 as s from private.%2$I a
             order by a.embedding %1$s $1 limit $2)
           union all
           (select l.id, (l.embedding %1$s $1)::float8 from private.%2$I l
             order by l.embedding operator(extensions.<=>) $1 limit $2)) a
          group by a.id) a', op, rel)
      into ids, ss using q, k;
  end if;
  execute format(
    'select exists (select from (select p.id, p.embedding %1$s $1 as s from private.%2$I p
                                  order by 2 limit $2) p
                     where p.s < $3 and p.id <> all($4))', op, rel || '_probe')
    into missed using q, need, coalesce(ss[need], 'infinity'), coalesce(ids, '{}');
  if missed then
    -- Exact over the generation's own narrow table (1.6 KB rows; `+ 0` keeps the index out).
    return query execute format(
      'select a.id, $3 + $4 * (a.embedding %1$s $1)::float8, true from private.%2$I a
        order by (a.embedding %1$s $1) + 0 limit $2', op, rel)
      using q, k, a, b;
    return;
  end if;
  return query select u.id, a + b * u.s, false from unnest(ids, ss) as u(id, s);
exception when undefined_table then
  return;
end
$$;
comment on function public.generation_index_chunks(extensions.vector, integer, integer) is
  'Candidates from the caller''s current generation''s own HNSW index (ids, cosine distances). Security definer, scoped to auth.uid().';

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
  -- The walk's 200 nearest (by their halfvec distance), of which the first k + 20 are re-ranked in
  -- full precision. The probe guards the first 10 (what a person reads; checking all 30 that hybrid
  -- search fuses sent twice as many searches to the exact path for little gain). Over a centred
  -- index a walk of 200 finds nearly what one of 600 did (78,000-chunk history, 30 questions:
  -- recall@10 0.983 against 0.993, the same two questions answered exactly) in a third of the time.
  select array_agg(g.id) into cand from (
    select g.id from public.generation_index_chunks(query_embedding, greatest(k, 200), least(k, 10)) g
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

-- The ops view counts both of an index's tables (with the graph and the lists, and the probe).
create or replace view ops.vector_indexes with (security_invoker = true) as
select g.job_id, j.user_id, g.vectors, g.build_ms, g.built_at,
       pg_total_relation_size(format('private.%I', g.relname)::regclass)
         + coalesce(pg_total_relation_size(to_regclass(format('private.%I', g.relname || '_probe'))), 0) as bytes,
       (p.generation_id is not null) as current
  from private.generation_vector_indexes g
  join public.processing_jobs j on j.id = g.job_id
  left join public.user_profiles p on p.generation_id = g.job_id;

revoke all on function private.vector_index_lists(integer), private.vector_index_probes(integer)
  from public, anon, authenticated;
