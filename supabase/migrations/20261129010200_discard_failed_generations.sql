-- A failed or cancelled import leaves nothing behind: its conversations, chunks, embeddings, facts
-- and intermediate documents are deleted in the transaction that ends it, unless it is already the
-- person's current generation (a first import that failed after quick_ready keeps what it built,
-- since there is nothing older to fall back to).

/*
 * private.discard_generation(job_id) -> void
 * Deletes an import's rows (raw_conversations, conversation_chunks -> memory_facts, job_artifacts)
 * and stamps processing_jobs.discarded_at. Idempotent. Refuses (22023) the current generation.
 */
create or replace function private.discard_generation(p_job_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
begin
  if exists (select from public.user_profiles where generation_id = p_job_id) then
    raise exception using errcode = '22023', message = format('import %s is a current generation', p_job_id);
  end if;
  delete from public.memory_facts where job_id = p_job_id;
  delete from public.conversation_chunks where job_id = p_job_id;
  delete from public.raw_conversations where job_id = p_job_id;
  delete from private.job_artifacts where job_id = p_job_id;
  update public.processing_jobs set discarded_at = coalesce(discarded_at, now()) where id = p_job_id;
end $$;

/* processing_jobs__discard() after update of status: failed/cancelled imports that are not current. */
create or replace function private.processing_jobs__discard() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.pipeline_version <> 'selftest'
     and not exists (select from public.user_profiles where generation_id = new.id) then
    perform private.discard_generation(new.id);
  end if;
  return null;
end $$;

drop trigger if exists _500_discard_failed on public.processing_jobs;
create trigger _500_discard_failed after update of status on public.processing_jobs
  for each row when (new.status in ('failed', 'cancelled') and old.status is distinct from new.status)
  execute function private.processing_jobs__discard();

revoke all on function private.discard_generation(uuid), private.processing_jobs__discard() from public, anon, authenticated;
grant execute on function private.discard_generation(uuid) to service_role;
