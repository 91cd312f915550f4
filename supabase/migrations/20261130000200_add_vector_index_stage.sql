-- The vector_index stage: after embed, the import's own HNSW index is built (large generations
-- only; private.build_generation_vector_index). The embed function serves it: it is the stage
-- that knows the vectors, and the build itself runs in the database.
insert into private.stages (stage, function_name, label, lease_seconds, max_attempts, batch_size, concurrency_cap,
                            max_running_per_job, priority)
values ('vector_index', 'embed', 'Indexing for search', 200, 4, 1, 4, 1, 6)
on conflict (stage) do nothing;

-- Insert after embed in every version that embeds: move the later stages one place down (in two
-- steps, since (version, position) is unique at every row).
update private.pipeline_stages p set position = p.position + 1000
  from private.pipeline_stages e
 where e.version = p.version and e.stage = 'embed' and p.position > e.position
   and not exists (select from private.pipeline_stages v where v.version = p.version and v.stage = 'vector_index');
update private.pipeline_stages set position = position - 999 where position > 1000;
insert into private.pipeline_stages (version, position, stage, progress_start)
select e.version, e.position + 1, 'vector_index', e.progress_start + (coalesce(n.progress_start, 100) - e.progress_start) * 2 / 3
  from private.pipeline_stages e
  left join private.pipeline_stages n on n.version = e.version and n.position = e.position + 2
 where e.stage = 'embed'
on conflict do nothing;
