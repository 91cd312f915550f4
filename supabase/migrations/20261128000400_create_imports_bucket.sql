-- Bucket `imports` holds uploaded exports (kept for retries; deleted only by a reset). Users may
-- write, read and delete only inside their own folder: imports/<user_id>/<file>.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('imports', 'imports', false, 10737418240, array[
  'application/zip', 'application/x-zip-compressed', 'application/json', 'application/gzip',
  'application/x-gzip', 'application/octet-stream'
])
on conflict (id) do update set
  public = excluded.public,
  file_size_limit = excluded.file_size_limit,
  allowed_mime_types = excluded.allowed_mime_types;

drop policy if exists "imports: insert own folder" on storage.objects;
create policy "imports: insert own folder" on storage.objects for insert to authenticated
  with check (bucket_id = 'imports' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "imports: read own folder" on storage.objects;
create policy "imports: read own folder" on storage.objects for select to authenticated
  using (bucket_id = 'imports' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "imports: update own folder" on storage.objects;
create policy "imports: update own folder" on storage.objects for update to authenticated
  using (bucket_id = 'imports' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "imports: delete own folder" on storage.objects;
create policy "imports: delete own folder" on storage.objects for delete to authenticated
  using (bucket_id = 'imports' and (storage.foldername(name))[1] = (select auth.uid())::text);
