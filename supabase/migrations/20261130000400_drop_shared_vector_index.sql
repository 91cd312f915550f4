-- The shared HNSW index over every user's chunks goes: searches use each large generation's own
-- index or exact search (20261130000300), and embedding inserts no longer pay for a graph of the
-- whole table. Its bloat view becomes a view of the per-generation indexes, which need no
-- maintenance: each is built once and dropped with its generation.
drop view if exists ops.vector_index_health;
drop index if exists public.conversation_chunks_embedding_hnsw;

create view ops.vector_indexes with (security_invoker = true) as
select g.job_id, j.user_id, g.vectors, g.build_ms, g.built_at,
       pg_total_relation_size(format('private.%I', g.relname)::regclass) as bytes,
       (p.generation_id is not null) as current
  from private.generation_vector_indexes g
  join public.processing_jobs j on j.id = g.job_id
  left join public.user_profiles p on p.generation_id = g.job_id;
comment on view ops.vector_indexes is
  'The vector index of each large generation: size, build time, whether it is the person''s current one.';

revoke all on ops.vector_indexes from public, anon, authenticated;
grant select on ops.vector_indexes to service_role;
