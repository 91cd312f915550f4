-- A vector index per large generation, built once its embeddings are written, dropped with it.
--
-- One HNSW index over every user's chunks served nobody well: each insert paid for a graph of the
-- whole table (about 1.8 ms a vector, most of the embed stage of a large import), a search walked
-- through other people's tuples before finding the caller's, and every finished re-import left
-- the deleted generation's space in the graph (337 MB -> 580 MB until a REINDEX). Building the
-- graph of one generation after its vectors exist is several times cheaper than inserting them
-- one by one (20,000 vectors: 36 s of inserts, 3.7 s to build over halfvec), its walk meets only
-- the person's own chunks, and dropping it frees everything at once.
--
-- Generations up to private.exact_search_max_chunks() chunks get no index: exact search over their
-- rows (embedding_half, in the row) is faster than a walk would be.
--
-- Beside each index, a probe table holds every 16th vector. A graph walk can miss a whole region:
-- measured on a generated 78,000-chunk history, the chunks nearest to "How do I feel about my job?"
-- (one tight topic) were unreachable from the graph's entry point at any ef_search, with m = 16 or
-- 32 and ef_construction 64 or 128. An exact scan of the probe (a few ms) finds such a region;
-- when it holds a vector nearer than the walk's answers that the walk did not return, the search
-- is answered exactly instead (public.generation_index_chunks).

/* The size up to which a generation is searched exactly (setting soulprint.exact_search_max_chunks). Stable. */
create or replace function private.exact_search_max_chunks() returns integer
language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('soulprint.exact_search_max_chunks', true), '')::integer, 15000)
$$;

/* One row per built index; deleting the row drops its table (trigger below). */
create table if not exists private.generation_vector_indexes (
  job_id uuid primary key references public.processing_jobs (id) on delete cascade,
  relname text not null unique,
  vectors integer not null,
  build_ms integer not null,
  built_at timestamptz not null default now()
);
comment on table private.generation_vector_indexes is
  'HNSW indexes of large generations (private.<relname>: id, embedding; private.<relname>_probe: every 16th). '
  'Deleting a row drops both tables.';

/* generation_vector_indexes__drop() after delete: the index table goes with its row. */
create or replace function private.generation_vector_indexes__drop() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  execute format('drop table if exists private.%I, private.%I', old.relname, old.relname || '_probe');
  return null;
end $$;

drop trigger if exists _100_drop_table on private.generation_vector_indexes;
create trigger _100_drop_table after delete on private.generation_vector_indexes
  for each row execute function private.generation_vector_indexes__drop();

/*
 * conversation_chunks__drop_vector_index() after delete (statement): a generation whose chunks are
 * deleted (finalize's swap, a discarded import, an account deleted) loses its index in the same
 * transaction. Chunks are only ever deleted a whole generation at a time.
 */
create or replace function private.conversation_chunks__drop_vector_index() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from private.generation_vector_indexes g where g.job_id in (select distinct d.job_id from gone d);
  return null;
end $$;

drop trigger if exists _100_drop_vector_index on public.conversation_chunks;
create trigger _100_drop_vector_index after delete on public.conversation_chunks
  referencing old table as gone
  for each statement execute function private.conversation_chunks__drop_vector_index();

/*
 * private.build_generation_vector_index(job_id) -> jsonb {built, vectors, build_ms}
 * Builds (or rebuilds: idempotent) the HNSW index of an import's vectors when it holds more than
 * private.exact_search_max_chunks() of them; a smaller one gets none (and loses any older one).
 * Runs in the caller's transaction: the table is new and private, so no reader waits on the build,
 * and a failed build leaves nothing. The graph is built in memory, the fast path, within
 * maintenance_work_mem = setting soulprint.vector_index_build_memory (default 256MB: about 3.3 KB a
 * vector, so 78,000 fit — 18 s, against 15 s with 512MB — without asking a small instance for half
 * its RAM); past it pgvector continues on disk, slower but correct.
 */
create or replace function private.build_generation_vector_index(p_job_id uuid) returns jsonb
language plpgsql security definer set search_path = ''
set maintenance_work_mem = '256MB'
as $$
declare
  rel text := 'generation_vectors_' || replace(p_job_id::text, '-', '');
  n integer;
  t0 timestamptz := clock_timestamp();
  ms integer;
begin
  delete from private.generation_vector_indexes where job_id = p_job_id;
  select count(*) into n from public.conversation_chunks where job_id = p_job_id and embedding_half is not null;
  if n <= private.exact_search_max_chunks() then
    return jsonb_build_object('built', false, 'vectors', n, 'build_ms', 0);
  end if;
  execute format('create table private.%I (id uuid not null, embedding extensions.halfvec(768) not null)', rel);
  execute format('alter table private.%I alter column embedding set storage main', rel);
  execute format('insert into private.%I (id, embedding)
                  select id, embedding_half from public.conversation_chunks
                   where job_id = $1 and embedding_half is not null', rel) using p_job_id;
  perform set_config('maintenance_work_mem',
    coalesce(nullif(current_setting('soulprint.vector_index_build_memory', true), ''), '256MB'), true);
  execute format('create index on private.%I using hnsw (embedding extensions.halfvec_cosine_ops)
                  with (m = 16, ef_construction = 64)', rel);
  execute format('create table private.%I as select id, embedding from private.%I
                   where (hashtext(id::text) & 15) = 0', rel || '_probe', rel);
  ms := (extract(epoch from clock_timestamp() - t0) * 1000)::integer;
  insert into private.generation_vector_indexes (job_id, relname, vectors, build_ms) values (p_job_id, rel, n, ms);
  return jsonb_build_object('built', true, 'vectors', n, 'build_ms', ms);
end $$;

revoke all on table private.generation_vector_indexes from public, anon, authenticated;
grant select on table private.generation_vector_indexes to service_role;
revoke all on function private.exact_search_max_chunks(), private.generation_vector_indexes__drop(),
  private.conversation_chunks__drop_vector_index(), private.build_generation_vector_index(uuid)
  from public, anon, authenticated;
grant execute on function private.build_generation_vector_index(uuid) to service_role;
