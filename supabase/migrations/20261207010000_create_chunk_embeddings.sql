-- A chunk's vectors live in their own table, written once, instead of being set on the chunk row.
--
-- The embed stage used to UPDATE each chunk to give it its vectors. An update of a 2 KB row that
-- grows by 1.5 KB cannot stay on its page, so PostgreSQL wrote a new version of the whole row: its
-- text went through the toaster again, and every index on the table took a new entry, the
-- keyword index one per word of the chunk. Measured on 10,000 chunks of a 59,500-chunk history:
-- 2.3-3.6 s to update them, 1.2 s to insert the same vectors as rows of a narrow table (WAL kept
-- in both). A 1 GB import's embed stage (78,000 chunks) went from 40.8 to 20.2 core-seconds of
-- database CPU, with 78,000 fewer dead row versions for autovacuum to clean. Exact search and the vector index build read
-- the narrow rows (1.6 KB, the halfvec in the row) instead of walking the chunks.
--
-- A chunk has at most one row here; deleting the chunk deletes it. Search moves over in the next
-- migration, the vector index build in the one after; the chunk's own columns go last.

create table if not exists public.chunk_embeddings (
  chunk_id uuid primary key references public.conversation_chunks (id) on delete cascade,
  -- The chunk's, copied so that a generation's vectors are read without touching its chunks.
  job_id uuid not null,
  user_id uuid not null,
  -- Which embedder made the vector (null: written before it was recorded).
  model text,
  embedding extensions.vector(768) not null,
  -- Half precision in the row, for exact scans of one generation (see 20261130000000).
  embedding_half extensions.halfvec(768) generated always as (embedding::extensions.halfvec(768)) stored,
  created_at timestamptz not null default now()
);
-- Floats barely compress: the full vector out of line as is, the halfvec in the row.
alter table public.chunk_embeddings
  alter column embedding set storage external,
  alter column embedding_half set storage plain;
create index if not exists chunk_embeddings_job on public.chunk_embeddings (job_id);

comment on table public.chunk_embeddings is
  'One row per embedded chunk: its vector (full and half precision), written once by the embed stage '
  '(or carried over from the previous generation for unchanged text). Deleted with the chunk.';
comment on column public.chunk_embeddings.embedding is
  'The vector; its dimension is the schema''s one source of truth (private.embedding_dimension()).';

alter table public.chunk_embeddings enable row level security;
drop policy if exists "chunk embeddings: users read their own" on public.chunk_embeddings;
create policy "chunk embeddings: users read their own" on public.chunk_embeddings for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.chunk_embeddings from anon, authenticated;
grant select on public.chunk_embeddings to authenticated;
grant all on public.chunk_embeddings to service_role;

-- Vectors already written move over (in job order, so each generation's rows sit together).
insert into public.chunk_embeddings (chunk_id, job_id, user_id, model, embedding)
select c.id, c.job_id, c.user_id, c.embedding_model, c.embedding
  from public.conversation_chunks c
 where c.embedding is not null
 order by c.job_id, c.id
on conflict (chunk_id) do nothing;
