-- Ops view of completion webhooks that are not delivered: waiting for a retry, being sent, or
-- given up on (private.retry_webhook(job_id) restarts those).
create or replace view ops.undelivered_webhooks as
select d.job_id, j.user_id, d.webhook_id, d.state, d.attempts, d.max_attempts, d.next_attempt_at,
       d.last_status, d.last_error_code, d.last_error, now() - d.created_at as age,
       d.give_up_after, d.given_up_at, d.created_at
  from private.webhook_deliveries d
  join public.processing_jobs j on j.id = d.job_id
 where d.state <> 'delivered';
comment on view ops.undelivered_webhooks is
  'Completion webhooks not delivered: pending retries, in flight, given up (private.retry_webhook(job_id) restarts).';

grant select on ops.undelivered_webhooks to service_role;
