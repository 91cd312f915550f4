-- Search and SoulPrint tables: a user sees only their own rows; anon nothing.
begin;
select plan(9);

select tests.create_user('ann') as ann \gset
select tests.create_user('ben') as ben \gset
insert into public.conversation_chunks (user_id, conversation_id, chunk_index, title, content, token_count, message_count, created_at, embedding)
values (:'ann', 'c1', 0, 'Kyoto trip', 'User: I am planning a trip to Kyoto in April', 10, 1, now(),
        (select array_agg(case when g = 1 then 1.0 else 0.0 end)::extensions.vector(768) from generate_series(1, 768) g)),
       (:'ben', 'c1', 0, 'Kyoto secrets', 'User: my Kyoto password is hunter2', 10, 1, now(),
        (select array_agg(case when g = 1 then 1.0 else 0.0 end)::extensions.vector(768) from generate_series(1, 768) g));
insert into public.user_profiles (user_id, ai_name) values (:'ann', 'Sage'), (:'ben', 'Atlas');

select tests.authenticate_as(:'ann');
select is((select count(*)::int from public.match_conversation_chunks(
  (select array_agg(case when g = 1 then 1.0 else 0.0 end)::extensions.vector(768) from generate_series(1, 768) g), 10, 0.1)), 1,
  'vector match returns only the caller''s chunk');
select is((select title from public.match_conversation_chunks(
  (select array_agg(case when g = 1 then 1.0 else 0.0 end)::extensions.vector(768) from generate_series(1, 768) g), 10, 0.1)), 'Kyoto trip',
  'and it is hers');
select is((select count(*)::int from public.hybrid_search_chunks('kyoto', null, 10)), 1, 'keyword search: only her chunk');
select is((select method from public.hybrid_search_chunks('kyoto',
  (select array_agg(case when g = 1 then 1.0 else 0.0 end)::extensions.vector(768) from generate_series(1, 768) g), 10)), 'hybrid',
  'found by both legs -> hybrid');
select is((select count(*)::int from public.conversation_chunks), 1, 'RLS: her chunks only');
select is((select ai_name from public.user_profiles), 'Sage', 'RLS: her profile only');
select throws_ok($$ update public.user_profiles set ai_name = 'Hacked' $$, '42501', null, 'users cannot write SoulPrint fields');

select tests.authenticate_as_anon();
select throws_ok($$ select * from public.conversation_chunks $$, '42501', null, 'anon reads no chunks');
select throws_ok($$ select * from public.match_conversation_chunks(null, 1, 0) $$, '42501', null, 'anon cannot search');

select * from finish();
rollback;
