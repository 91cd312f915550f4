-- Import paths are exactly `imports/<the user's id>/<one safe file name>`. The earlier check only
-- refused a literal `/../`; `%2e%2e`, backslashes and other encodings passed, and the ingest
-- function (which reads with the service key) could be pointed at another user's object.
-- A safe file name: 1-200 characters of letters, digits and `_ - . ( ) + space`, starting with a
-- letter, digit, `_` or `-`, with no `..` anywhere. No percent-escapes, no slashes, no backslashes,
-- no control characters. The same rule holds for Storage objects in the bucket and is checked again
-- by the ingest function (shared/processors/import-path.ts) before any Storage call.

drop policy if exists "jobs: users start their own import" on public.processing_jobs;
create policy "jobs: users start their own import" on public.processing_jobs for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and storage_path ~ ('^imports/' || (select auth.uid())::text || '/[A-Za-z0-9_-][A-Za-z0-9_.()+ -]{0,199}$')
    and strpos(storage_path, '..') = 0
  );

-- Storage object names in the bucket: `<user id>/<safe file name>` (the bucket is not part of the name).
drop policy if exists "imports: insert own folder" on storage.objects;
create policy "imports: insert own folder" on storage.objects for insert to authenticated
  with check (
    bucket_id = 'imports'
    and name ~ ('^' || (select auth.uid())::text || '/[A-Za-z0-9_-][A-Za-z0-9_.()+ -]{0,199}$')
    and strpos(name, '..') = 0
  );

drop policy if exists "imports: update own folder" on storage.objects;
create policy "imports: update own folder" on storage.objects for update to authenticated
  using (bucket_id = 'imports' and (storage.foldername(name))[1] = (select auth.uid())::text)
  with check (
    bucket_id = 'imports'
    and name ~ ('^' || (select auth.uid())::text || '/[A-Za-z0-9_-][A-Za-z0-9_.()+ -]{0,199}$')
    and strpos(name, '..') = 0
  );
