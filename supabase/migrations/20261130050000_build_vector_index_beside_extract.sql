-- A generation's vector index is built beside extraction, not between embedding and extraction.
--
-- vector_index was a single task that the import waited on: a 1 GB export's index (78,000
-- vectors) took 20-30 s with both cores busy on its parallel build, and extraction, the longest
-- stage after it, could not start until it ended. The index needs only the vectors, all written
-- once embed ends, and nothing reads it before finalize makes the generation current (until
-- then search of the generation is exact). So, in every version that has both stages, the index
-- comes after extract and starts early, beside it (private.early_stages: once extract has done a
-- task), and when extraction ends with the index built the job goes straight on to consolidate.
-- A version without extraction (v1) keeps vector_index right after embed.
--
-- Beside extraction, a parallel build only takes the cores extraction would use, and costs more
-- CPU in all (78,000 vectors: 15.7 s on three processes against 27.1 s on one): the build is
-- serial now.

-- Swap vector_index with the extract that follows it (positions are unique at every row, hence
-- the detour), and give each the progress band of the place it moves to: extract's long band
-- starts where vector_index's did; the index takes the last 2 % before consolidate.
with pairs as (
  select v.version, v.position as vpos, x.position as xpos, v.progress_start as vstart, c.progress_start as cstart
    from private.pipeline_stages v
    join private.pipeline_stages x on x.version = v.version and x.stage = 'extract' and x.position = v.position + 1
    join private.pipeline_stages c on c.version = v.version and c.position = x.position + 1
   where v.stage = 'vector_index'
)
update private.pipeline_stages p
   set position = case p.stage when 'vector_index' then pairs.xpos else pairs.vpos end + 1000,
       progress_start = case p.stage when 'vector_index' then pairs.cstart - 2 else pairs.vstart end
  from pairs
 where p.version = pairs.version and p.stage in ('vector_index', 'extract');
update private.pipeline_stages set position = position - 1000 where position > 1000;

insert into private.early_stages (stage, after_stage, window_tasks, window_conversations)
values ('vector_index', 'extract', 1, 1)
on conflict (stage) do nothing;

alter function private.build_generation_vector_index(uuid) set max_parallel_maintenance_workers = 0;
