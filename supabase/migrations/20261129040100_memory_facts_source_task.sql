-- The extract task that stored a fact. Facts are attributed to a conversation's first chunk, and a
-- long conversation can be read by several tasks, so a retried task replaces the rows it wrote
-- itself (job, source_task), not every fact of the chunk.
alter table public.memory_facts add column if not exists source_task text;
create index if not exists memory_facts_job_source on public.memory_facts (job_id, source_task);
