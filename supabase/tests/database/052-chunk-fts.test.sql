-- A chunk's keyword document: the writer's when it sends one; made by to_tsvector when it does
-- not, or when it changed the text and left the old document behind.
begin;
select plan(6);

select tests.create_user('fay') as fay \gset
insert into public.processing_jobs (user_id, storage_path, pipeline_version)
values (:'fay', 'imports/' || :'fay' || '/a.json', 'selftest') returning id as job \gset

insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content, token_count,
  message_count, created_at, fts)
values (:'fay', :'job', 'given', 0, 'Trip', 'User: Kyoto in April', 5, 1, now(), $$'kyoto':1$$),
       (:'fay', :'job', 'none', 0, 'Trip', 'User: Kyoto in April', 5, 1, now(), null);

select is((select fts::text from public.conversation_chunks where conversation_id = 'given'), $$'kyoto':1$$,
  'a document sent with the chunk is kept as sent');
select is((select fts from public.conversation_chunks where conversation_id = 'none'),
  to_tsvector('simple', 'Trip User: Kyoto in April'), 'a chunk written without one gets to_tsvector''s');

update public.conversation_chunks set content = 'User: Osaka in May' where conversation_id = 'given';
select ok((select fts @@ to_tsquery('simple', 'osaka') and not fts @@ to_tsquery('simple', 'kyoto')
             from public.conversation_chunks where conversation_id = 'given'),
  'new text without a new document: the document follows the text');

update public.conversation_chunks set content = 'User: Nara', fts = $$'nara':2$$ where conversation_id = 'given';
select is((select fts::text from public.conversation_chunks where conversation_id = 'given'), $$'nara':2$$,
  'new text with its document: the writer''s document');

update public.conversation_chunks set embeddable = false where conversation_id = 'given';
select is((select fts::text from public.conversation_chunks where conversation_id = 'given'), $$'nara':2$$,
  'an update that leaves title and text alone leaves the document');

select is((select attgenerated from pg_catalog.pg_attribute
            where attrelid = 'public.conversation_chunks'::regclass and attname = 'fts'), ''::"char",
  'fts is a stored column the writer fills, not generated');

select * from finish();
rollback;
