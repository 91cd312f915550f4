-- A half-precision copy of each chunk's embedding, kept in the row, for exact search.
--
-- Exact search over one person's chunks read every vector out of TOAST (3 KB of float4 per chunk
-- does not fit in the row): about 9 us a chunk, so a 6,000-chunk history took 50-120 ms and the
-- exact path could only serve histories up to 3,000 chunks, leaving mid-size ones to an HNSW walk
-- through everyone else's tuples. A halfvec of 768 dimensions is 1.5 KB; with storage `main` it stays
-- in the heap row (the toaster moves the chunk's text out first), and scanning a history's rows costs
-- about 1 us a chunk. Generated from `embedding`, so no writer can let the two disagree.
alter table public.conversation_chunks
  add column embedding_half extensions.halfvec(768)
  generated always as (embedding::extensions.halfvec(768)) stored;
alter table public.conversation_chunks alter column embedding_half set storage main;

comment on column public.conversation_chunks.embedding_half is
  'embedding in half precision, stored in the row (not TOAST) so exact search over a history is fast. Generated.';

-- Rows written before this migration got the new column with the default storage (out of line);
-- rewriting the table brings it into the row, and clustering by import puts each generation's rows
-- side by side, so an exact search reads few pages. Cheap on a young table; on a large one it
-- holds an exclusive lock while it runs (20 s for 166,000 chunks on 2 cores).
cluster public.conversation_chunks using conversation_chunks_job;
