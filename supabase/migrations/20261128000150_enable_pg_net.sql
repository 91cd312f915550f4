-- pg_net carries every database-to-function kick (util.invoke_edge_function) and its response
-- table backs ops.net_errors (20261128010700), so it must exist before those migrations on a
-- new Supabase project, where it is available but not enabled. Supabase registers it in
-- `extensions`; pg_net itself creates and owns schema `net`, where its API lives.
-- Dated before the migrations that use it: databases that already applied later ones take it
-- with `supabase db push --include-all` (a no-op there once pg_net exists).
create extension if not exists pg_net with schema extensions;
