-- Generations: every import writes its conversations, chunks, embeddings and facts under its own
-- job id, beside the SoulPrint the person already has. `user_profiles.generation_id` names the
-- import whose rows are the current SoulPrint; finalize moves it to the new import and only then
-- deletes the previous generation's rows, all in one transaction. Until then (and if the new import
-- fails) chat, search and the profile keep showing the previous generation, whole.

alter table public.user_profiles
  add column if not exists generation_id uuid references public.processing_jobs (id) on delete set null;
comment on column public.user_profiles.generation_id is
  'The import (processing_jobs.id) whose chunks, facts and conversations are the current SoulPrint.';
update public.user_profiles p set generation_id = p.job_id
 where p.generation_id is null and p.import_status in ('quick_ready', 'complete', 'locked');

alter table public.processing_jobs add column if not exists discarded_at timestamptz;
comment on column public.processing_jobs.discarded_at is
  'When a failed or cancelled import''s partial rows were deleted (it never became the current generation).';

-- Rows without an import cannot belong to any generation.
delete from public.raw_conversations where job_id is null;
delete from public.conversation_chunks where job_id is null;

-- raw_conversations: one row per (import, conversation); an import's rows go with it.
alter table public.raw_conversations drop constraint if exists raw_conversations_job_id_fkey;
alter table public.raw_conversations alter column job_id set not null,
  add constraint raw_conversations_job_id_fkey foreign key (job_id) references public.processing_jobs (id) on delete cascade;
alter table public.raw_conversations drop constraint if exists raw_conversations_pkey;
alter table public.raw_conversations add constraint raw_conversations_pkey primary key (job_id, conversation_id);
drop index if exists public.raw_conversations_job;

-- conversation_chunks: unique per (import, conversation, index).
alter table public.conversation_chunks drop constraint if exists conversation_chunks_job_id_fkey;
alter table public.conversation_chunks alter column job_id set not null,
  add constraint conversation_chunks_job_id_fkey foreign key (job_id) references public.processing_jobs (id) on delete cascade;
alter table public.conversation_chunks drop constraint if exists conversation_chunks_user_id_conversation_id_chunk_index_key;
alter table public.conversation_chunks add constraint conversation_chunks_job_conversation_chunk_key
  unique (job_id, conversation_id, chunk_index);
