-- Objects created later in public must not leak either. Supabase (and the local stand-in,
-- platform/standins/010_roles.sql) sets default privileges for the migration role `postgres`
-- that grant ALL on every new public table, sequence and function to anon, authenticated and
-- service_role. Those defaults now give anon nothing, and authenticated no TRUNCATE, REFERENCES
-- or TRIGGER and no sequences or functions; what users need is granted by name in the migration
-- that creates the object (STYLE rule 11). service_role keeps its defaults.
-- Note: PostgreSQL's built-in EXECUTE-to-PUBLIC on new functions can only be revoked globally,
-- which would also strip it from extension functions installed later; every migration therefore
-- keeps revoking it per function, and the pgTAP catalog walk (060-privileges) fails on any public
-- function that anon can execute.
alter default privileges for role postgres in schema public revoke all on tables from anon;
alter default privileges for role postgres in schema public
  revoke truncate, references, trigger on tables from authenticated;
alter default privileges for role postgres in schema public revoke all on sequences from anon, authenticated;
alter default privileges for role postgres in schema public revoke execute on functions from anon, authenticated;
