-- Searchable chunks of the person's conversations. The embedding column's dimension is the one
-- source of truth: the embed stage reads it from the catalog (private.embedding_dimension()).
-- Chunks carry the job that wrote them: a new import writes its generation, finalize drops the
-- old one (lesson 45: never delete-then-insert).
create table if not exists public.conversation_chunks (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  job_id uuid references public.processing_jobs (id) on delete set null,
  conversation_id text not null,
  chunk_index integer not null check (chunk_index >= 0),
  title text not null,
  content text not null,
  token_count integer not null,
  message_count integer not null,
  created_at timestamptz not null,
  is_recent boolean not null default false,
  chunk_tier text not null default 'medium' check (chunk_tier in ('micro', 'medium', 'macro')),
  embedding extensions.vector(768),
  embedding_model text,
  embeddable boolean not null default true,   -- false: under 3 chars after cleanup, never retried
  fts tsvector generated always as (to_tsvector('simple', title || ' ' || content)) stored,
  updated_at timestamptz not null default now(),
  unique (user_id, conversation_id, chunk_index)
);
create index if not exists conversation_chunks_user_created on public.conversation_chunks (user_id, created_at desc);
create index if not exists conversation_chunks_job on public.conversation_chunks (job_id, id);
create index if not exists conversation_chunks_unembedded on public.conversation_chunks (job_id, id) where embedding is null and embeddable;
create index if not exists conversation_chunks_fts on public.conversation_chunks using gin (fts);
create index if not exists conversation_chunks_embedding_hnsw on public.conversation_chunks
  using hnsw (embedding extensions.vector_cosine_ops) with (m = 16, ef_construction = 64);

alter table public.conversation_chunks enable row level security;
drop policy if exists "chunks: users read their own" on public.conversation_chunks;
create policy "chunks: users read their own" on public.conversation_chunks for select to authenticated
  using (user_id = (select auth.uid()));
revoke all on public.conversation_chunks from anon, authenticated;
grant select on public.conversation_chunks to authenticated;
grant all on public.conversation_chunks to service_role;

/* The dimension of conversation_chunks.embedding, read from the catalog. Stable. */
create or replace function private.embedding_dimension() returns integer
language sql stable security definer set search_path = '' as $$
  select a.atttypmod from pg_catalog.pg_attribute a
   where a.attrelid = 'public.conversation_chunks'::regclass and a.attname = 'embedding'
$$;
revoke all on function private.embedding_dimension() from public, anon, authenticated;
grant execute on function private.embedding_dimension() to service_role;
