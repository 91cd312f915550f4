-- Keeps user_profiles' status contract in step with the user's import job (SPEC §5):
-- a new job marks the profile processing; progress is mirrored until the quick pass is ready;
-- a failure before quick_ready sets import_status=failed, a failure after it touches only
-- full_pass_* (lesson 18); cancel ends the full pass as failed with a clear message.

/*
 * processing_jobs__sync_profile() after insert or update of status/progress, per row.
 * Upserts the owner's profile (never a bare update: lesson 7, rule 4). Idempotent.
 */
create or replace function private.processing_jobs__sync_profile() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  p public.user_profiles;
  ready boolean;
begin
  if new.pipeline_version = 'selftest' then return null; end if;
  if tg_op = 'INSERT' then
    insert into public.user_profiles (user_id, import_status, import_error, progress_percent, import_stage,
      processing_started_at, storage_path, file_type, job_id, pipeline_version, full_pass_status, full_pass_error)
    values (new.user_id, 'processing', null, new.progress_percent, new.import_stage, now(), new.storage_path,
      new.file_type, new.id, new.pipeline_version, 'pending', null)
    on conflict (user_id) do update set
      import_status = case when public.user_profiles.import_status in ('quick_ready', 'complete', 'locked')
                           then public.user_profiles.import_status else 'processing' end,
      import_error = null, processing_started_at = now(), storage_path = excluded.storage_path,
      file_type = excluded.file_type, job_id = excluded.job_id, pipeline_version = excluded.pipeline_version,
      full_pass_status = 'pending', full_pass_error = null, updated_at = now();
    return null;
  end if;
  select * into p from public.user_profiles where user_id = new.user_id for update;
  if p.user_id is null or p.job_id is distinct from new.id then return null; end if;
  ready := p.import_status in ('quick_ready', 'complete', 'locked');
  if new.status in ('failed', 'cancelled') then
    if ready then
      update public.user_profiles set full_pass_status = 'failed', full_pass_completed_at = now(),
        full_pass_error = left(coalesce(new.error_message, 'Import cancelled'), 500), updated_at = now()
       where user_id = new.user_id;
    else
      update public.user_profiles set import_status = 'failed', progress_percent = 100, import_stage = 'Failed',
        import_error = left(coalesce(new.error_message, 'Import cancelled'), 500), updated_at = now()
       where user_id = new.user_id;
    end if;
  elsif not ready then
    update public.user_profiles set progress_percent = greatest(progress_percent, new.progress_percent),
      import_stage = new.import_stage, updated_at = now()
     where user_id = new.user_id;
  end if;
  return null;
end $$;

drop trigger if exists _400_sync_profile on public.processing_jobs;
create trigger _400_sync_profile after insert or update of status, progress_percent on public.processing_jobs
  for each row execute function private.processing_jobs__sync_profile();
revoke all on function private.processing_jobs__sync_profile() from public, anon, authenticated;
