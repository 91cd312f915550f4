-- A generation's vector index is built from public.chunk_embeddings, and its HNSW graph with m 12 and
-- ef_construction 40 (was 16 and 64).
--
-- The graph build was the largest single cost of a 1 GB import after embedding: 22.6 s of wall
-- time on 2 cores (both busy: the build runs a parallel worker) for 78,000 vectors; with these
-- settings 11.0 s. Search keeps its quality because the walk is not the only guard: the IVF
-- index's candidates join it and the probe sends a search that missed a region to an exact scan
-- (20261130040100). Measured with bench:search on the 78,000-chunk history, 40 questions,
-- against exact search: recall@10 0.985 with either graph, no short results; hybrid search p50
-- 23.5 -> 26.7 ms, p95 35.4 -> 38.8 ms. The graph alone, on 60 synthetic queries midway between
-- two chunks of a 59,500-chunk history (ef_search 200): recall@10 0.745 -> 0.740.

/*
 * private.build_generation_vector_index(job_id) -> jsonb {built, vectors, build_ms}
 * As in 20261130040100 (one HNSW and one IVF index over the generation's centred unit vectors, and
 * a probe table of every 16th), over the job's rows of public.chunk_embeddings, with the lighter graph.
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
                  with (m = 12, ef_construction = 40)', rel);
  execute format('create index on private.%I using ivfflat (embedding extensions.halfvec_cosine_ops)
                  with (lists = %s)', rel, private.vector_index_lists(n));
  execute format('create table private.%I as select id, embedding from private.%I
                   where (hashtext(id::text) & 15) = 0', rel || '_probe', rel);
  ms := (extract(epoch from clock_timestamp() - t0) * 1000)::integer;
  insert into private.generation_vector_indexes (job_id, relname, vectors, build_ms, centre)
  values (p_job_id, rel, n, ms, mean);
  return jsonb_build_object('built', true, 'vectors', n, 'build_ms', ms);
end $$;
