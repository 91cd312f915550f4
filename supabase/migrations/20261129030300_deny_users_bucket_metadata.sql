-- storage.buckets holds bucket configuration (size limits, mime types, public flag). Storage
-- reads it with its own credential; no person needs to list, create or change buckets. RLS is
-- already on with no policy (deny); this policy states that intent in the catalog, so the rule
-- "every table in an exposed schema has RLS and a policy" holds without exceptions and a later
-- permissive policy has to be added on purpose.
drop policy if exists "buckets: no access for users" on storage.buckets;
create policy "buckets: no access for users" on storage.buckets for all to anon, authenticated
  using (false) with check (false);
