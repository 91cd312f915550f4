-- What fact extraction sent to the model and what it left out, per job: the sum of the extract
-- tasks' results (extract/handler.ts). Nothing is dropped for size; what is not sent is cut by a
-- named rule: `duplicate` (a user message already sent), `pasted` (code, logs, markup, tables
-- replaced by a stub), `repeated` (a phrase repeated verbatim 3+ times in a row, kept once with a
-- count), `assistant` (assistant turns, apart from short context excerpts).
create or replace view ops.extraction_input with (security_invoker = on) as
select t.job_id, j.user_id, j.status,
       sum((t.result ->> 'requests')::int) as requests,
       count(*) filter (where (t.result ->> 'failed')::boolean) as failed_requests,
       sum((t.result ->> 'facts')::int) as facts,
       sum((t.result -> 'input' ->> 'user_messages')::int) as user_messages_sent,
       sum((t.result -> 'input' ->> 'user_chars')::bigint) as user_chars_sent,
       sum((t.result -> 'input' ->> 'stubs')::int) as pasted_stubs,
       sum((t.result -> 'input' ->> 'context_excerpts')::int) as context_excerpts,
       sum((t.result -> 'input' ->> 'context_chars')::bigint) as context_chars_sent,
       sum((t.result ->> 'request_chars')::bigint) as request_chars,
       sum((t.result -> 'input' -> 'cut' -> 'duplicate' ->> 'messages')::int) as duplicate_messages,
       sum((t.result -> 'input' -> 'cut' -> 'duplicate' ->> 'chars')::bigint) as duplicate_chars,
       sum((t.result -> 'input' -> 'cut' -> 'pasted' ->> 'messages')::int) as pasted_messages,
       sum((t.result -> 'input' -> 'cut' -> 'pasted' ->> 'chars')::bigint) as pasted_chars,
       sum((t.result -> 'input' -> 'cut' -> 'assistant' ->> 'messages')::int) as assistant_messages,
       sum((t.result -> 'input' -> 'cut' -> 'assistant' ->> 'chars')::bigint) as assistant_chars,
       sum(coalesce((t.result -> 'input' -> 'cut' -> 'repeated' ->> 'messages')::int, 0)) as repeated_messages,
       sum(coalesce((t.result -> 'input' -> 'cut' -> 'repeated' ->> 'chars')::bigint, 0)) as repeated_chars
  from private.job_tasks t
  join public.processing_jobs j on j.id = t.job_id
 where t.stage = 'extract' and t.state = 'done' and t.result ? 'input'
 group by t.job_id, j.user_id, j.status;
comment on view ops.extraction_input is
  'Per job: what fact extraction sent (user messages, chars, context excerpts, requests) and what it cut, by reason.';

revoke all on ops.extraction_input from public, anon, authenticated;
grant select on ops.extraction_input to service_role;
