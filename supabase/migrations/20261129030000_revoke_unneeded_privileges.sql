-- Least privilege on what exists today. People reach the database only as `anon` (no session)
-- or `authenticated` (signed in): through the Data API and Storage, and inside the query/chat
-- functions, which run their reads as the caller. Supabase's defaults (mirrored by the local
-- stand-ins) hand ALL privileges on every new public table, sequence and function to both
-- roles. RLS decides which rows a granted privilege reaches, but it cannot guard TRUNCATE
-- (empties a table whatever the policies say), REFERENCES (lets a role create foreign keys that
-- probe or pin another table's rows) or TRIGGER; and `anon` has no use in this product at all.
-- Explicit grants that users do need (select own rows, start an import, chat, cancel/retry,
-- search) were made by the migrations that created each object and stay as they are.

-- Tables and views in public: nothing for anon; no TRUNCATE/REFERENCES/TRIGGER for anyone
-- who signs in.
revoke all on all tables in schema public from public, anon;
revoke truncate, references, trigger on all tables in schema public from authenticated;

-- Sequences in public back identity columns that only the pipeline writes (identity defaults
-- need no sequence privilege); setval/nextval by users could only disturb them.
revoke all on all sequences in schema public from public, anon, authenticated;

-- Functions in public: executable only where granted by name (authenticated: cancel_job,
-- retry_job and the two search functions). PUBLIC's implicit EXECUTE would reach anon too.
revoke execute on all routines in schema public from public, anon;

-- Storage's tables belong to Supabase Storage, whose policies (imports bucket: own folder only)
-- guard rows; TRUNCATE, REFERENCES and TRIGGER bypass those policies, and users never need them.
-- (On a hosted project a grant this role cannot revoke is left with a warning, not an error.)
revoke truncate, references, trigger on storage.objects, storage.buckets from public, anon, authenticated;

-- Machinery schemas: users hold no schema usage there already; remove any object privilege too,
-- so a future grant of usage would still expose nothing.
revoke all on all tables in schema private, util, ops from public, anon, authenticated;
revoke all on all sequences in schema private, util, ops from public, anon, authenticated;
revoke all on all routines in schema private, util, ops from public, anon, authenticated;
