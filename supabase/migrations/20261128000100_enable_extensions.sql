-- Extensions the product depends on: pg_cron runs the orchestrator's sweeper; vector stores
-- conversation-chunk embeddings. Supabase installs pg_cron into pg_catalog and other
-- extensions into `extensions`.
create extension if not exists pg_cron with schema pg_catalog;
create extension if not exists vector with schema extensions;
