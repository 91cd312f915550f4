-- Row level security per table, with two people (ada, bo) who both have rows everywhere. As ada:
-- she sees only her rows and cannot write anyone's rows where the product does not let her
-- write. As anon: nothing, on every table in public (walked from the catalog) and in the
-- imports bucket. bo's rows are checked untouched at the end.
begin;
select plan(53);

-- Runs `stmt` as the current role; returns 'ok' or the SQLSTATE it raised.
create function tests.sqlstate_of(stmt text) returns text
language plpgsql as $$
begin
  execute stmt;
  return 'ok';
exception when others then
  return sqlstate;
end $$;

-- Runs `stmt` as the current role; returns how many rows it touched.
create function tests.rows_touched(stmt text) returns integer
language plpgsql as $$
declare n integer;
begin
  execute stmt;
  get diagnostics n = row_count;
  return n;
end $$;

-- --- Fixture: one import each (fixture rows carry the job that wrote them) --------------------
select tests.create_user('ada') as ada \gset
select tests.create_user('bo') as bo \gset
insert into public.processing_jobs (user_id, storage_path) values (:'ada', 'imports/' || :'ada' || '/a.zip') returning id as ada_job \gset
insert into public.processing_jobs (user_id, storage_path) values (:'bo', 'imports/' || :'bo' || '/b.zip') returning id as bo_job \gset
update public.user_profiles set ai_name = case when user_id = :'ada' then 'Sage' else 'Atlas' end
 where user_id in (:'ada', :'bo');
insert into public.raw_conversations (user_id, conversation_id, job_id, source, title, created_at, message_count,
  user_message_count, assistant_message_count, messages)
values (:'ada', 'c1', :'ada_job', 'chatgpt', 'Ada chat', now(), 1, 1, 0, '[{"role":"user","content":"hi"}]'),
       (:'bo', 'c1', :'bo_job', 'claude', 'Bo chat', now(), 1, 1, 0, '[{"role":"user","content":"yo"}]');
insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content, token_count, message_count, created_at)
values (:'ada', :'ada_job', 'c1', 0, 'Ada chunk', 'User: hi', 2, 1, now()) returning id as ada_chunk \gset
insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content, token_count, message_count, created_at)
values (:'bo', :'bo_job', 'c1', 0, 'Bo chunk', 'User: yo', 2, 1, now()) returning id as bo_chunk \gset
insert into public.memory_facts (user_id, job_id, chunk_id, conversation_id, category, fact)
values (:'ada', :'ada_job', :'ada_chunk', 'c1', 'preferences', '{"text":"likes tea"}'),
       (:'bo', :'bo_job', :'bo_chunk', 'c1', 'preferences', '{"text":"likes coffee"}');
insert into public.chat_conversations (user_id, title) values (:'ada', 'Ada talks') returning id as ada_conv \gset
insert into public.chat_conversations (user_id, title) values (:'bo', 'Bo talks') returning id as bo_conv \gset
insert into public.chat_messages (user_id, conversation_id, role, content)
values (:'ada', :'ada_conv', 'user', 'hello'), (:'ada', :'ada_conv', 'assistant', 'hi Ada'),
       (:'bo', :'bo_conv', 'user', 'hello'), (:'bo', :'bo_conv', 'assistant', 'hi Bo');
insert into storage.objects (bucket_id, name, owner)
values ('imports', :'ada' || '/a.zip', :'ada'), ('imports', :'bo' || '/b.zip', :'bo');

-- --- ada ---------------------------------------------------------------------------------
select tests.authenticate_as(:'ada');

-- processing_jobs: read own, start an import in her own folder (020-jobs-rls), nothing else.
select is((select array_agg(id::text) from public.processing_jobs), array[:'ada_job'], 'jobs: ada sees only her job');
select is(tests.sqlstate_of(format($$ insert into public.processing_jobs (user_id, storage_path) values (%L, 'imports/%s/x.zip') $$, :'bo', :'bo')),
  '42501', 'jobs: ada cannot start an import for bo');
select is(tests.sqlstate_of($$ update public.processing_jobs set status = 'complete' $$), '42501', 'jobs: ada cannot update jobs');
select is(tests.sqlstate_of($$ delete from public.processing_jobs $$), '42501', 'jobs: ada cannot delete jobs');

-- user_profiles: read own only; written by the pipeline.
select is((select array_agg(ai_name) from public.user_profiles), array['Sage'], 'profiles: ada sees only her profile');
select is(tests.sqlstate_of(format($$ insert into public.user_profiles (user_id) values (%L) $$, :'ada')), '42501', 'profiles: ada cannot insert');
select is(tests.sqlstate_of($$ update public.user_profiles set ai_name = 'Hacked' $$), '42501', 'profiles: ada cannot update');
select is(tests.sqlstate_of($$ delete from public.user_profiles $$), '42501', 'profiles: ada cannot delete');

-- raw_conversations, conversation_chunks, memory_facts: read own only; written by the pipeline.
select is((select array_agg(title) from public.raw_conversations), array['Ada chat'], 'raw conversations: ada sees only hers');
select is(tests.sqlstate_of(format($$ insert into public.raw_conversations (user_id, conversation_id, job_id, source, title,
    created_at, message_count, user_message_count, assistant_message_count, messages)
  values (%L, 'c2', %L, 'chatgpt', 'x', now(), 1, 1, 0, '[]') $$, :'ada', :'ada_job')), '42501', 'raw conversations: ada cannot insert');
select is(tests.sqlstate_of($$ update public.raw_conversations set title = 'x' $$), '42501', 'raw conversations: ada cannot update');
select is(tests.sqlstate_of($$ delete from public.raw_conversations $$), '42501', 'raw conversations: ada cannot delete');

select is((select array_agg(title) from public.conversation_chunks), array['Ada chunk'], 'chunks: ada sees only hers');
select is(tests.sqlstate_of(format($$ insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title,
    content, token_count, message_count, created_at) values (%L, %L, 'c1', 1, 'x', 'x', 1, 1, now()) $$, :'ada', :'ada_job')),
  '42501', 'chunks: ada cannot insert');
select is(tests.sqlstate_of($$ update public.conversation_chunks set content = 'x' $$), '42501', 'chunks: ada cannot update');
select is(tests.sqlstate_of($$ delete from public.conversation_chunks $$), '42501', 'chunks: ada cannot delete');

select is((select array_agg(fact->>'text') from public.memory_facts), array['likes tea'], 'facts: ada sees only hers');
select is(tests.sqlstate_of(format($$ insert into public.memory_facts (user_id, job_id, chunk_id, conversation_id, category, fact)
    values (%L, %L, %L, 'c1', 'beliefs', '{}') $$, :'ada', :'ada_job', :'ada_chunk')), '42501', 'facts: ada cannot insert');
select is(tests.sqlstate_of($$ update public.memory_facts set fact = '{}' $$), '42501', 'facts: ada cannot update');
select is(tests.sqlstate_of($$ delete from public.memory_facts $$), '42501', 'facts: ada cannot delete');

-- chat_conversations: full use of her own chats (create, rename, delete), none of bo's.
select is((select array_agg(title) from public.chat_conversations), array['Ada talks'], 'chats: ada sees only hers');
select is(tests.sqlstate_of(format($$ insert into public.chat_conversations (user_id, title) values (%L, 'Second') $$, :'ada')),
  'ok', 'chats: ada starts a chat of her own');
select is(tests.sqlstate_of(format($$ insert into public.chat_conversations (user_id, title) values (%L, 'Planted') $$, :'bo')),
  '42501', 'chats: ada cannot start a chat for bo');
select is(tests.rows_touched(format($$ update public.chat_conversations set title = 'Renamed' where id = %L $$, :'ada_conv')),
  1, 'chats: ada renames her chat');
select is(tests.rows_touched(format($$ update public.chat_conversations set title = 'Defaced' where id = %L $$, :'bo_conv')),
  0, 'chats: ada cannot rename bo''s chat');
select is(tests.sqlstate_of(format($$ update public.chat_conversations set user_id = %L where id = %L $$, :'bo', :'ada_conv')),
  '42501', 'chats: ada cannot hand a chat to bo');
select is(tests.rows_touched(format($$ delete from public.chat_conversations where id = %L $$, :'bo_conv')),
  0, 'chats: ada cannot delete bo''s chat');
select is(tests.rows_touched($$ delete from public.chat_conversations where title = 'Second' $$), 1, 'chats: ada deletes her own chat');

-- chat_messages: read own, add her own turns to her own chats, delete her own; never an
-- assistant turn (only the chat function writes those), never into bo's chat, no edits.
select is((select array_agg(content order by role) from public.chat_messages), array['hi Ada', 'hello'],
  'messages: ada sees only hers');
select is(tests.sqlstate_of(format($$ insert into public.chat_messages (user_id, conversation_id, role, content)
    values (%L, %L, 'user', 'next question') $$, :'ada', :'ada_conv')), 'ok', 'messages: ada adds her own turn');
select is(tests.sqlstate_of(format($$ insert into public.chat_messages (user_id, conversation_id, role, content)
    values (%L, %L, 'assistant', 'forged reply') $$, :'ada', :'ada_conv')), '42501', 'messages: ada cannot write an assistant turn');
select is(tests.sqlstate_of(format($$ insert into public.chat_messages (user_id, conversation_id, role, content)
    values (%L, %L, 'user', 'planted') $$, :'ada', :'bo_conv')), '42501', 'messages: ada cannot write into bo''s chat');
select is(tests.sqlstate_of(format($$ insert into public.chat_messages (user_id, conversation_id, role, content)
    values (%L, %L, 'user', 'as bo') $$, :'bo', :'bo_conv')), '42501', 'messages: ada cannot write as bo');
select is(tests.sqlstate_of(format($$ insert into public.chat_messages (user_id, conversation_id, role, content, complete, created_at)
    values (%L, %L, 'user', 'backdated', false, now() - interval '1 year') $$, :'ada', :'ada_conv')),
  '42501', 'messages: ada cannot set the complete flag or the timestamp');
select is(tests.sqlstate_of($$ update public.chat_messages set role = 'assistant' $$), '42501', 'messages: ada cannot edit turns');
select is(tests.rows_touched(format($$ delete from public.chat_messages where conversation_id = %L $$, :'bo_conv')),
  0, 'messages: ada cannot delete bo''s turns');
select is(tests.rows_touched($$ delete from public.chat_messages where content = 'next question' $$), 1,
  'messages: ada deletes her own turn');

-- storage.objects, imports bucket: her own folder only.
select is((select array_agg(name) from storage.objects where bucket_id = 'imports'), array[:'ada' || '/a.zip'],
  'imports: ada sees only her own folder');
select is(tests.sqlstate_of(format($$ insert into storage.objects (bucket_id, name, owner) values ('imports', '%s/planted.zip', %L) $$, :'bo', :'ada')),
  '42501', 'imports: ada cannot upload into bo''s folder');
select is(tests.sqlstate_of(format($$ insert into storage.objects (bucket_id, name, owner) values ('imports', '%s/2.zip', %L) $$, :'ada', :'ada')),
  'ok', 'imports: ada uploads into her own folder');
select is(tests.rows_touched(format($$ update storage.objects set metadata = '{"x":1}' where name like '%s/%%' $$, :'bo')), 0,
  'imports: ada cannot change bo''s objects');
select is(tests.rows_touched(format($$ delete from storage.objects where name like '%s/%%' $$, :'bo')), 0,
  'imports: ada cannot delete bo''s objects');

-- storage.buckets: configuration, not for users.
select is((select count(*)::int from storage.buckets), 0, 'buckets: ada sees no bucket configuration');
select is(tests.sqlstate_of($$ insert into storage.buckets (id, name, public) values ('mine', 'mine', true) $$), '42501',
  'buckets: ada cannot create a bucket');
select is(tests.rows_touched($$ update storage.buckets set public = true $$), 0, 'buckets: ada cannot make a bucket public');

-- --- anon ------------------------------------------------------------------------------------
select tests.authenticate_as_anon();

-- Every table in public, from the catalog: select, insert, update and delete are all refused.
-- (The updated column is the first one that may be named in SET at all, so the refusal is the
-- privilege check and not an identity or generated-column rule.)
select is(array(
  select format('%s %s: %s', c.relname, s.verb, s.state)
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   cross join lateral (select a.attname from pg_catalog.pg_attribute a
                        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                          and a.attidentity = '' and a.attgenerated = '' order by a.attnum limit 1) col
   cross join lateral (values
       ('select', tests.sqlstate_of(format('select from public.%I limit 1', c.relname))),
       ('insert', tests.sqlstate_of(format('insert into public.%I default values', c.relname))),
       ('update', tests.sqlstate_of(format('update public.%I set %I = %I', c.relname, col.attname, col.attname))),
       ('delete', tests.sqlstate_of(format('delete from public.%I', c.relname)))) s(verb, state)
   where n.nspname = 'public' and c.relkind in ('r', 'p') and s.state <> '42501'), '{}'::text[],
  'anon: select, insert, update and delete are refused on every table in public');
select ok((select count(*) >= 7 from pg_catalog.pg_tables where schemaname = 'public'),
  'anon: that walk covered the product''s tables');
select is(tests.sqlstate_of(format($$ select public.cancel_job(%L) $$, :'ada_job')), '42501', 'anon: cannot cancel a job');

select is((select count(*)::int from storage.objects), 0, 'imports: anon sees no object');
select is(tests.sqlstate_of(format($$ insert into storage.objects (bucket_id, name) values ('imports', '%s/anon.zip') $$, :'ada')),
  '42501', 'imports: anon cannot upload');
select is(tests.rows_touched($$ update storage.objects set metadata = '{"x":1}' $$), 0, 'imports: anon cannot change objects');
select is(tests.rows_touched($$ delete from storage.objects $$), 0, 'imports: anon cannot delete objects');

-- --- bo's rows are as they were ----------------------------------------------------------------
select tests.clear_authentication();
select is(
  (select jsonb_build_object(
     'jobs', (select count(*) from public.processing_jobs where user_id = :'bo'),
     'profile', (select ai_name from public.user_profiles where user_id = :'bo'),
     'raw', (select count(*) from public.raw_conversations where user_id = :'bo'),
     'chunks', (select count(*) from public.conversation_chunks where user_id = :'bo'),
     'facts', (select count(*) from public.memory_facts where user_id = :'bo'),
     'chat', (select title from public.chat_conversations where user_id = :'bo'),
     'messages', (select count(*) from public.chat_messages where user_id = :'bo'),
     'objects', (select jsonb_agg(name) from storage.objects where name like :'bo' || '/%' and metadata is null))),
  jsonb_build_object('jobs', 1, 'profile', 'Atlas', 'raw', 1, 'chunks', 1, 'facts', 1, 'chat', 'Bo talks',
                     'messages', 2, 'objects', jsonb_build_array(:'bo' || '/b.zip')),
  'bo''s rows in every table are untouched');

select * from finish();
rollback;
