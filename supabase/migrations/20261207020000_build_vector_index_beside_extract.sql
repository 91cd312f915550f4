-- The generation's vector index is built beside extraction instead of before it.
--
-- Both need only what embed leaves: the build reads the vectors, extraction reads the stored
-- conversations and the chunks' ids. In sequence, neither kept a 2-core machine busy: the build of
-- a 1 GB import's 77,000 vectors ran ~20 s on about 1.4 cores (the leader and one parallel
-- worker), then extraction's 681 tasks ran ~35 s on about 1.5 (each invocation waits on the
-- database for most of its wall time). v2 now runs extract right after embed, and vector_index is
-- an early stage beside it (private.early_stages: its single task starts once extract has done a
-- task; when extract ends first, the job waits at vector_index for it as before; when the build
-- ends first, the job goes from extract straight to consolidate). The generation still gets its
-- index before finalize makes it current, so search never meets a current generation without it.
--
-- A v2 job at vector_index now has extract after it no more: it is moved back to extract, where
-- its vector index task stays runnable (the early rule) and its extraction runs, so no stage is
-- skipped for an import running through this change.

-- Through free positions: (version, position) is unique at every row.
update private.pipeline_stages set position = position + 100
 where version = 'v2' and stage in ('extract', 'vector_index');
update private.pipeline_stages set position = 5, progress_start = 45 where version = 'v2' and stage = 'extract';
update private.pipeline_stages set position = 6, progress_start = 72 where version = 'v2' and stage = 'vector_index';

insert into private.early_stages (stage, after_stage, window_tasks, window_conversations)
values ('vector_index', 'extract', 1, 1)
on conflict (stage) do nothing;

update public.processing_jobs set status = 'extract' where status = 'vector_index' and pipeline_version = 'v2';
