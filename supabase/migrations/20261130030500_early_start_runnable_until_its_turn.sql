-- An early stage's first task stays runnable from its window until its turn.
--
-- private.task_runnable admitted an early stage's first task only while the job was at exactly
-- `after_stage`. A first task claimed just before that stage ended (a small import's embedding
-- ends in milliseconds, then vector_index takes over) could then neither complete (SPT02: the job
-- had moved on) nor be claimed again until its lease ran out (200 s), so the import waited. The
-- task is now runnable while the job is at any stage from `after_stage` up to the early stage
-- itself (positions in the pipeline versions that hold both), so it completes wherever the job
-- has got to in between; everything else is as in 20261130010000_start_quick_pass_early.sql.

create or replace function private.task_runnable(p_job_status text, p_task_stage text, p_task_key text) returns boolean
language sql stable security definer set search_path = '' as $$
  select p_job_status = p_task_stage
      or (p_task_key = p_task_stage || ':start'
          and exists (
            select from private.early_stages e
              join private.pipeline_stages a on a.stage = e.after_stage
              join private.pipeline_stages j on j.version = a.version and j.stage = p_job_status
              join private.pipeline_stages s on s.version = a.version and s.stage = p_task_stage
             where e.stage = p_task_stage and j.position >= a.position and j.position < s.position))
$$;
