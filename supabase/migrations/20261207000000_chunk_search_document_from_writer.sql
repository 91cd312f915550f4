-- A chunk's keyword-search document (fts) comes from its writer instead of being generated.
--
-- The generated column ran to_tsvector('simple', title || ' ' || content) on every chunk written:
-- PostgreSQL's parser reads ~10 MB/s on one core, four fifths of the chunk insert's cost (a 1 GB
-- export's 320 MB of chunk text: ~30 s of the database's CPU). The chunk writer now sends the
-- finished word list (shared/processors/search-terms.ts; the same words a question is split
-- into), which the database reads about five times faster than it parses the text.
--
-- Dropping the expression keeps every stored value (no rewrite). A writer that sends no fts (an
-- operator's SQL, a test) still gets one, made by to_tsvector as before, and a changed title or
-- text without a new fts gets its document made again, so no chunk is ever unsearchable by
-- keyword or searched by words it no longer holds.
alter table public.conversation_chunks alter column fts drop expression;

comment on column public.conversation_chunks.fts is
  'Keyword-search document (tsvector) of title and content, written with the chunk (search-terms.ts); '
  'filled by to_tsvector(''simple'', …) when a writer sends none.';

/*
 * private.conversation_chunks__fill_fts() before insert or update of title, content, fts, per row.
 * Makes the chunk's fts with to_tsvector('simple', title || ' ' || content) when the writer sent
 * none, or changed the title or content and left the old one.
 */
create or replace function private.conversation_chunks__fill_fts() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.fts is null
     or (tg_op = 'UPDATE' and new.fts is not distinct from old.fts
         and (new.title is distinct from old.title or new.content is distinct from old.content)) then
    new.fts := to_tsvector('simple', new.title || ' ' || new.content);
  end if;
  return new;
end $$;
revoke all on function private.conversation_chunks__fill_fts() from public, anon, authenticated;

drop trigger if exists _050_fill_fts on public.conversation_chunks;
create trigger _050_fill_fts before insert or update of title, content, fts on public.conversation_chunks
  for each row execute function private.conversation_chunks__fill_fts();
