-- Ops views for Supabase Studio (schema `ops`, not exposed through the API).
create schema if not exists ops;
revoke all on schema ops from public, anon, authenticated;
grant usage on schema ops to service_role;

create or replace view ops.jobs_overview as
select j.id, j.user_id, j.pipeline_version, j.status, j.import_stage, j.progress_percent,
       now() - j.created_at as age, j.attempts,
       count(t.*) filter (where t.state in ('pending', 'failed')) as tasks_waiting,
       count(t.*) filter (where t.state = 'running') as tasks_running,
       count(t.*) filter (where t.state = 'done') as tasks_done,
       count(t.*) filter (where t.state = 'dead') as tasks_dead,
       coalesce(j.error_code, (array_agg(t.last_error_code order by t.updated_at desc) filter (where t.last_error is not null))[1]) as last_error_code,
       coalesce(j.error_message, (array_agg(t.last_error order by t.updated_at desc) filter (where t.last_error is not null))[1]) as last_error,
       j.heartbeat_at, j.created_at, j.completed_at, j.cost_usd
  from public.processing_jobs j
  left join private.job_tasks t on t.job_id = j.id
 group by j.id;
comment on view ops.jobs_overview is 'Every job: stage, progress, age, attempts, task counts and the last error.';

create or replace view ops.stuck_jobs as
select o.*,
       case
         when exists (select from private.job_tasks t where t.job_id = o.id and t.state = 'running' and t.lease_until < now() - interval '1 minute')
           then 'lease expired and not swept'
         when exists (select from private.job_tasks t where t.job_id = o.id and t.state in ('pending', 'failed')
                        and t.run_after < now() - interval '2 minutes')
           then 'due tasks not claimed for 2+ minutes'
         when not exists (select from private.job_tasks t where t.job_id = o.id and t.stage = o.status
                            and t.state in ('pending', 'failed', 'running'))
           then 'no open task at its stage'
         else 'no heartbeat for 10+ minutes'
       end as reason
  from ops.jobs_overview o
 where o.status not in ('complete', 'failed', 'cancelled')
   and (o.heartbeat_at < now() - interval '10 minutes'
        or exists (select from private.job_tasks t where t.job_id = o.id and t.state = 'running' and t.lease_until < now() - interval '1 minute')
        or exists (select from private.job_tasks t where t.job_id = o.id and t.state in ('pending', 'failed') and t.run_after < now() - interval '2 minutes')
        or not exists (select from private.job_tasks t where t.job_id = o.id and t.stage = o.status and t.state in ('pending', 'failed', 'running')));
comment on view ops.stuck_jobs is 'Active jobs that are not moving, with the likely reason.';

create or replace view ops.task_backlog as
select s.stage, s.function_name,
       count(t.*) filter (where t.state = 'pending') as pending,
       count(t.*) filter (where t.state in ('pending', 'failed') and t.run_after <= now()) as due,
       count(t.*) filter (where t.state = 'failed') as retrying,
       count(t.*) filter (where t.state = 'running') as running,
       count(t.*) filter (where t.state = 'dead') as dead,
       max(now() - t.run_after) filter (where t.state in ('pending', 'failed') and t.run_after <= now()) as oldest_due_age,
       s.concurrency_cap, s.max_running_per_job
  from private.stages s
  left join private.job_tasks t on t.stage = s.stage
 group by s.stage, s.function_name, s.concurrency_cap, s.max_running_per_job;
comment on view ops.task_backlog is 'Queue depth per stage: due, running, retrying, dead, oldest due age.';

create or replace view ops.dead_letters as
select t.id as task_id, t.job_id, j.user_id, t.stage, t.task_key, t.attempts, t.max_attempts,
       t.last_error_code, t.last_error, t.updated_at as died_at, j.status as job_status
  from private.job_tasks t join public.processing_jobs j on j.id = t.job_id
 where t.state = 'dead';
comment on view ops.dead_letters is 'Tasks that spent their attempts. retry_job(job_id) restarts them.';

create or replace view ops.net_errors as
select k.request_id, k.function_name, k.stage, k.task_ids, k.reason, k.created_at,
       case when r.id is null then 'missing response' when r.timed_out then 'timed out'
            when r.error_msg is not null then 'error' else 'http ' || r.status_code end as outcome,
       r.status_code, r.error_msg, left(r.content, 300) as content
  from private.kicks k
  left join net._http_response r on r.id = k.request_id
 where (r.id is null and k.created_at < now() - interval '1 minute')
    or r.timed_out or r.error_msg is not null or r.status_code >= 500 or r.status_code in (401, 403, 404);
comment on view ops.net_errors is 'Kicks that failed or got no response (lost by pg_net); the sweeper re-kicks their tasks.';

create or replace view ops.pipeline_version_metrics as
select j.pipeline_version,
       count(*) as jobs,
       count(*) filter (where j.status = 'complete') as complete,
       count(*) filter (where j.status = 'failed') as failed,
       count(*) filter (where j.status = 'cancelled') as cancelled,
       count(*) filter (where j.status not in ('complete', 'failed', 'cancelled')) as active,
       round(count(*) filter (where j.status = 'complete')::numeric
             / nullif(count(*) filter (where j.status in ('complete', 'failed')), 0), 4) as success_rate,
       percentile_cont(0.5) within group (order by extract(epoch from j.completed_at - j.created_at))
         filter (where j.status = 'complete') as p50_seconds,
       percentile_cont(0.95) within group (order by extract(epoch from j.completed_at - j.created_at))
         filter (where j.status = 'complete') as p95_seconds,
       round(avg(j.cost_usd) filter (where j.status = 'complete'), 6) as avg_cost_usd,
       percentile_cont(0.95) within group (order by j.cost_usd) filter (where j.status = 'complete') as p95_cost_usd,
       (select jsonb_object_agg(e.code, e.n) from (
          select j2.error_code as code, count(*) as n from public.processing_jobs j2
           where j2.pipeline_version = j.pipeline_version and j2.status = 'failed' group by j2.error_code) e) as failures_by_code
  from public.processing_jobs j
 group by j.pipeline_version;
comment on view ops.pipeline_version_metrics is 'Per pipeline version: success rate, p50/p95 duration, cost, failures by code (cutover numbers).';

grant select on all tables in schema ops to service_role;
