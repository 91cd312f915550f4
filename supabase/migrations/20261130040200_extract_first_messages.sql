-- Which task reads each of the person's repeated messages: claimed as extraction goes, per job.
--
-- Extraction sends each message the person wrote once, however often they repeated it. The start
-- task used to find every repeat of the job in one statement (a window over all of the job's user
-- messages, parsed from JSON): 10 s at 1 GB, past its 90 s bound at 5 GB, where the tasks were
-- then planned without skip lists and ~2 M repeated messages went to the model again. Now each
-- extraction task claims the first occurrence of each distinct message it reads (a hash of the
-- trimmed text -> the conversation and message that keep it); a message whose text is claimed
-- elsewhere is skipped. The work is spread over the tasks, in parallel, and grows with the
-- export, not with its square. Which occurrence is kept depends on which task got there first
-- (a later range's occurrence may be the one read); each text is still read exactly once.
--
-- A task claims before it calls the model, outside its transaction, so a claim never waits on
-- a model call; a retried task finds its own claims (idempotent: the owner is a position, not a
-- task). The rows go when the import ends (complete, failed or cancelled), and with the job.

create table if not exists private.extract_first_messages (
  job_id uuid not null references public.processing_jobs (id) on delete cascade,
  hash uuid not null,
  conversation_id text not null,
  message_index integer not null,
  primary key (job_id, hash)
);
comment on table private.extract_first_messages is
  'Per import: the first occurrence (conversation, message) of each distinct person message that extraction reads. '
  'Emptied when the import ends.';
revoke all on table private.extract_first_messages from public, anon, authenticated;
grant select, insert, delete on table private.extract_first_messages to service_role;

/* processing_jobs__forget_first_messages() after update of status: an ended import's claims go. */
create or replace function private.processing_jobs__forget_first_messages() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from private.extract_first_messages where job_id = new.id;
  return null;
end $$;
revoke all on function private.processing_jobs__forget_first_messages() from public, anon, authenticated;

drop trigger if exists _510_forget_first_messages on public.processing_jobs;
create trigger _510_forget_first_messages after update of status on public.processing_jobs
  for each row when (new.status in ('complete', 'failed', 'cancelled') and old.status is distinct from new.status)
  execute function private.processing_jobs__forget_first_messages();
