-- Local stand-in (never deployed): every Supabase project has an (initially empty)
-- `supabase_realtime` publication, which migrations add tables to.
do $$
begin
  if not exists (select from pg_publication where pubname = 'supabase_realtime') then
    -- Locally wal_level is replica (nothing subscribes); the warning about it is noise here.
    set local client_min_messages = error;
    create publication supabase_realtime;
  end if;
end $$;
