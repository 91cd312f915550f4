-- Realtime: a frontend subscribes to its own import's progress (processing_jobs) and to the
-- SoulPrint status contract (user_profiles) instead of polling. Realtime applies each table's
-- RLS to what it sends, so users still see only their own rows. Every Supabase project has the
-- `supabase_realtime` publication; guarded so that a database without Realtime is unaffected.
do $$
declare t text;
begin
  if not exists (select from pg_publication where pubname = 'supabase_realtime') then
    raise notice 'publication supabase_realtime does not exist; job progress is not published';
    return;
  end if;
  foreach t in array array['processing_jobs', 'user_profiles'] loop
    if not exists (
      select from pg_publication_tables
       where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t
    ) then
      execute format('alter publication supabase_realtime add table public.%I', t);
    end if;
  end loop;
end $$;
