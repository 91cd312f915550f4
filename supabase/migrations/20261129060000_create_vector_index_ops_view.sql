-- The shared HNSW index grows with every finished re-import: finalize deletes the previous
-- generation's chunks, vacuum marks their index entries deleted, and pgvector reuses only part of
-- that space for new vectors. Measured on a 78,000-chunk history (bench/search.ts --maintenance):
-- 337 MB, then 580 MB after the generation was deleted, vacuumed and written again; REINDEX INDEX
-- CONCURRENTLY brought it back to 342 MB in 40 s without blocking reads or writes. This view says
-- when that is due: bytes per live vector against what a fresh build takes (~4.1 kB at 768
-- dimensions, m = 16). Runbook: README, Troubleshooting.
create or replace view ops.vector_index_health with (security_invoker = true) as
select i.indexrelid::regclass as index_name,
       pg_relation_size(i.indexrelid) as index_bytes,
       s.n_live_tup as live_rows,
       round(pg_relation_size(i.indexrelid)::numeric / greatest(s.n_live_tup, 1) / 4200, 2) as size_vs_fresh_build,
       pg_relation_size(i.indexrelid) > 1.5 * 4200 * greatest(s.n_live_tup, 1) as reindex_due
  from pg_index i
  join pg_stat_user_tables s on s.relid = i.indrelid
 where i.indexrelid = 'public.conversation_chunks_embedding_hnsw'::regclass;
comment on view ops.vector_index_health is
  'HNSW index size against a fresh build; reindex_due: run REINDEX INDEX CONCURRENTLY public.conversation_chunks_embedding_hnsw.';

revoke all on ops.vector_index_health from public, anon, authenticated;
grant select on ops.vector_index_health to service_role;
