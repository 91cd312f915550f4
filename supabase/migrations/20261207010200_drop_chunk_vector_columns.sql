-- The chunk row no longer carries vectors: they are in public.chunk_embeddings (20261207010000).
--
-- "Still to embed" is now "embeddable and without a row there" (a primary-key probe per chunk of
-- the embed task's range), so the partial index over unembedded chunks goes with the columns.
-- Dropping a column only marks it dropped; the space returns as rows are rewritten or vacuumed.
drop index if exists public.conversation_chunks_unembedded;
alter table public.conversation_chunks
  drop column if exists embedding_half,
  drop column if exists embedding,
  drop column if exists embedding_model;
comment on column public.conversation_chunks.embeddable is
  'False: under 3 characters after cleanup, never embedded. Vectors are in public.chunk_embeddings.';
