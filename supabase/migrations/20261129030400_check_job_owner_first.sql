-- A user who inserts a job for someone else must learn nothing about that person. RLS checks
-- the new row only after BEFORE triggers have run, and _100_prepare (security definer) looks up
-- the owner's active import first: without this check, inserting a job with another user's id
-- answered SPJ01 with that user's active job id in the error detail. This trigger runs first
-- and refuses such rows exactly as RLS would, before anything is read.

/*
 * private.processing_jobs__check_owner() before insert, for each row (fires before _100_prepare).
 * For callers acting as a user (role authenticated or anon): raises 42501 when user_id is not
 * auth.uid(). The service and the pipeline (other roles) pass. Reads and writes nothing.
 * Security invoker: it needs only auth.uid(). Idempotent.
 */
create or replace function private.processing_jobs__check_owner() returns trigger
language plpgsql security invoker set search_path = '' as $$
begin
  if coalesce(current_setting('role', true), 'none') in ('authenticated', 'anon')
     and new.user_id is distinct from (select auth.uid()) then
    raise exception using errcode = '42501',
      message = 'new row violates row-level security policy for table "processing_jobs"';
  end if;
  return new;
end $$;
comment on function private.processing_jobs__check_owner() is
  'Before insert on processing_jobs: a user may only insert their own job (42501, as RLS), '
  'checked before any trigger reads the owner''s jobs. Reads and writes nothing. Idempotent.';

drop trigger if exists _050_check_owner on public.processing_jobs;
create trigger _050_check_owner before insert on public.processing_jobs
  for each row execute function private.processing_jobs__check_owner();
revoke all on function private.processing_jobs__check_owner() from public, anon, authenticated;
