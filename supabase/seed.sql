-- Local-only Vault secrets (never deployed). Applied by platform/platform.sh with psql
-- variables :project_url and :service_role_key; re-runnable. service_role_key holds the
-- project's secret key of whichever generation it uses: the `sb_secret_...` key (new API keys)
-- or the service_role JWT (legacy); functions accept either (SUPABASE_SECRET_KEYS).
select vault.create_secret(:'project_url', 'project_url', 'Base URL of the Supabase project')
where not exists (select from vault.secrets where name = 'project_url');
update vault.secrets set secret = :'project_url', updated_at = now() where name = 'project_url';

select vault.create_secret(:'service_role_key', 'service_role_key', 'Service secret used by database-to-function kicks')
where not exists (select from vault.secrets where name = 'service_role_key');
update vault.secrets set secret = :'service_role_key', updated_at = now() where name = 'service_role_key';
