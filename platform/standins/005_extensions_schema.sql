-- Local stand-in (never deployed): Supabase projects keep extensions in an `extensions` schema.
create schema if not exists extensions;
grant usage on schema extensions to public;
-- As on Supabase, unqualified names resolve in public first, then extensions.
alter database postgres set search_path = "$user", public, extensions;
