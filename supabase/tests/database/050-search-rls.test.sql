-- Search: a user sees only their own current generation, and gets exactly what exact search over
-- it returns, whatever other users hold in the shared table (the shared HNSW index once returned
-- other users' neighbours and the user filter then left a small user with a few results).
begin;
select plan(31);

-- The table's statistics must be this test's alone (the keyword arm reads how common a term is):
-- rows left by a local run go for the length of this (rolled back) test.
truncate public.conversation_chunks cascade;

-- Vectors with topic structure, as embeddings have: 30 random topic centres, each chunk a centre
-- plus noise; the query is near one centre.
create temporary table centres as
select i, array_agg(random() - 0.5) as x from generate_series(0, 29) i, generate_series(1, 768) d group by i;
create temporary table q as
select array_agg(x[d] + (random() - 0.5) * 0.6 order by d)::extensions.vector(768) as v
  from centres, generate_series(1, 768) d where i = 7;
grant select on q to authenticated;

select tests.create_user('ann') as ann \gset
select tests.create_user('ben') as ben \gset
-- Imports (diagnostic pipeline: their rows stand in for a finished import's).
insert into public.processing_jobs (user_id, storage_path, pipeline_version)
values (:'ann', 'imports/' || :'ann' || '/old.json', 'selftest') returning id as ann_old \gset
update public.processing_jobs set status = 'complete' where id = :'ann_old';
insert into public.processing_jobs (user_id, storage_path, pipeline_version)
values (:'ann', 'imports/' || :'ann' || '/new.json', 'selftest') returning id as ann_gen \gset
insert into public.processing_jobs (user_id, storage_path, pipeline_version)
values (:'ben', 'imports/' || :'ben' || '/all.json', 'selftest') returning id as ben_gen \gset

-- ann: 40 chunks in her current generation, 40 in an old one; ben: 3000 (a heavy history).
-- Each chunk's vector in public.chunk_embeddings, as the embed stage writes it.
with v as (
select u, j, g, t, c, e.v
  from (values (:'ann'::uuid, :'ann_gen'::uuid, 40, 'Kyoto trip', 'User: I am planning a trip to Kyoto in April'),
               (:'ann'::uuid, :'ann_old'::uuid, 40, 'Kyoto old', 'User: an old kyoto plan'),
               (:'ben'::uuid, :'ben_gen'::uuid, 3000, 'Kyoto secrets', 'User: my Kyoto password is hunter2')) x(u, j, n, t, c),
       generate_series(1, x.n) g,
       lateral (select array_agg(ce.x[d] + (random() - 0.5) * 0.6 order by d)::extensions.vector(768) as v
                  from centres ce, generate_series(1, 768) d where ce.i = g % 30) e
), ins as (
insert into public.conversation_chunks (user_id, job_id, conversation_id, chunk_index, title, content, token_count,
  message_count, created_at)
select u, j, 'c' || g, 0, t, c || ' ' || g, 10, 1, now() - g * interval '1 hour' from v
returning id, job_id, user_id, conversation_id)
insert into public.chunk_embeddings (chunk_id, job_id, user_id, embedding)
select ins.id, ins.job_id, ins.user_id, v.v from ins join v on v.j = ins.job_id and 'c' || v.g = ins.conversation_id;
update public.processing_jobs set chunk_count = 40 where id = :'ann_gen';
update public.processing_jobs set chunk_count = 3000 where id = :'ben_gen';
insert into public.user_profiles (user_id, ai_name, generation_id)
values (:'ann', 'Sage', :'ann_gen'), (:'ben', 'Atlas', :'ben_gen');
analyze public.conversation_chunks;

-- Exact answers, computed as the superuser without any index.
create temporary table exact as
select u.uid, (select array_agg(id order by d) from (
         select c.chunk_id as id, (c.embedding operator(extensions.<=>) (select v from q)) + 0 as d
           from public.chunk_embeddings c where c.job_id = u.gen order by 2 limit 10) e) as ids,
       (select array_agg(id order by d) from (
         select c.chunk_id as id, (c.embedding operator(extensions.<=>) (select v from q)) + 0 as d
           from public.chunk_embeddings c where c.job_id = u.gen order by 2 limit 50) e) as ids50
  from (values (:'ann'::uuid, :'ann_gen'::uuid), (:'ben'::uuid, :'ben_gen'::uuid)) u(uid, gen);
grant select on exact to authenticated;

select tests.authenticate_as(:'ann');
select is(array(select id from public.nearest_chunks((select v from q), 10)), (select ids from exact where uid = :'ann'),
  'a small user beside a heavy one gets exactly the exact-search ids, in order');
select is((select count(*)::int from public.hybrid_search_chunks(null, (select v from q), 10)), 10,
  'hybrid search (vector only) returns a full page');
select is((select count(*)::int from public.match_conversation_chunks((select v from q), 50, -1)), 40,
  'vector match reaches every chunk of her current generation and nothing else');
select is((select count(*)::int || ' ' || bool_and(title = 'Kyoto trip') from public.hybrid_search_chunks('kyoto', null, 50)),
  '30 true', 'keyword search: 30 hits, all from her current generation (not her old import, not ben)');
select is((select count(*)::int from public.keyword_chunks('kyoto | password | hunter2', 100) k
            join public.conversation_chunks c on c.id = k.id where c.job_id = :'ann_gen'),
  (select count(*)::int from public.keyword_chunks('kyoto | password | hunter2', 100)),
  'the full-text arm (definer, for its index) returns only her current generation, even for ben''s words');
select is((select count(*)::int from public.keyword_chunks('hunter2', 100)), 0, 'ben''s secret word finds nothing for her');
-- "kyoto" is in every chunk of the table (statistics from the analyze above): beside a rarer term it
-- gathers no candidates of its own; alone (every term that common) it still does, as above.
select is((select count(*)::int from public.keyword_chunks('kyoto | zanzibar', 100)), 0,
  'a term in more than half of all chunks gathers no candidates beside a rarer one');
select is((select count(*)::int from public.keyword_chunks('kyoto | april', 100)), 40,
  'the rarer term''s candidates are ranked as before');
select is((select method from public.hybrid_search_chunks('kyoto', (select v from q), 1)), 'hybrid',
  'found by both legs -> hybrid');
select is((select count(*)::int from public.conversation_chunks), 80, 'RLS: her chunks only (both generations)');
select is((select count(*)::int from public.chunk_embeddings), 80, 'RLS: her vectors only (both generations)');
select is((select ai_name from public.user_profiles), 'Sage', 'RLS: her profile only');
select throws_ok($$ update public.user_profiles set ai_name = 'Hacked' $$, '42501', null, 'users cannot write SoulPrint fields');

select tests.authenticate_as(:'ben');
select is(array(select id from public.nearest_chunks((select v from q), 10)), (select ids from exact where uid = :'ben'),
  'the heavy user below the exact-search threshold: exact ids');
select is((select count(*)::int from public.generation_index_chunks((select v from q))), 0,
  'a generation without its own vector index yields no index candidates');
reset role;

-- Above the threshold the vector_index stage builds the generation its own HNSW index.
set local soulprint.exact_search_max_chunks = 1000;
select is((select (private.build_generation_vector_index(:'ben_gen') ->> 'vectors')::int), 3000,
  'the heavy generation gets its own index of all 3000 vectors');
select is((select (private.build_generation_vector_index(:'ann_gen') ->> 'built')::boolean), false,
  'a small generation gets none');
select relname as ben_rel from private.generation_vector_indexes where job_id = :'ben_gen' \gset
select tests.authenticate_as(:'ben');
select cmp_ok((select count(*)::int from unnest((select ids from exact where uid = :'ben')) e(id)
            where e.id in (select id from public.nearest_chunks((select v from q), 10))), '>=', 9,
  'through its own index: recall@10 against exact search of at least 0.9');
select is((select count(*)::int from public.nearest_chunks((select v from q), 100) n
            join public.conversation_chunks c on c.id = n.id where c.user_id <> :'ben'), 0,
  'and only his own chunks');
select tests.authenticate_as(:'ann');
select is((select count(*)::int from public.generation_index_chunks((select v from q))), 0,
  'another user reaches nothing of his index');
select is(array(select id from public.nearest_chunks((select v from q), 10)), (select ids from exact where uid = :'ann'),
  'and still gets exactly her own exact-search ids');
reset role;

-- A walk that misses a region: the probe table is given ben's 10 nearest under ids the walk never
-- returns (as it would hold some of a region the graph cannot reach), so it finds vectors nearer
-- than the walk's answers that the walk did not return.
select format('insert into private.%I select gen_random_uuid(), (extensions.l2_normalize(c.embedding_half)::extensions.vector(768) operator(extensions.-) g.centre)::extensions.halfvec(768)
                 from public.chunk_embeddings c, private.generation_vector_indexes g where c.chunk_id = any(%L) and g.job_id = %L',
              :'ben_rel' || '_probe', (select ids from exact where uid = :'ben'), :'ben_gen') as ins \gset
select tests.authenticate_as(:'ben');
select is((select bool_or(exact)::text from public.generation_index_chunks((select v from q), 600, 10)), 'false',
  'a walk that meets nothing nearer in the probe answers by itself');
-- The centred index's scores are cosine distances: the same as exact ones, to halfvec precision.
select ok((select max(abs(g.distance - (c.embedding operator(extensions.<=>) (select v from q))))
             from public.generation_index_chunks((select v from q), 50, 10) g join public.chunk_embeddings c on c.chunk_id = g.id) < 0.002,
  'distances from the centred index are the cosine distances of the chunks');
reset role;
:ins;
select tests.authenticate_as(:'ben');
select is((select bool_and(exact)::text || ' ' || count(*) from public.generation_index_chunks((select v from q), 600, 10)),
  'true 600', 'when the probe holds nearer vectors the walk did not return, the table is scanned exactly instead');
select is(array(select id from public.nearest_chunks((select v from q), 10)), (select ids from exact where uid = :'ben'),
  'and the search gets exactly the exact-search ids');
reset role;

-- The index goes with its generation.
delete from public.conversation_chunks where job_id = :'ben_gen';
select is((select count(*)::int from private.generation_vector_indexes where job_id = :'ben_gen')
          + (select count(*)::int from pg_catalog.pg_class where relname in (:'ben_rel', :'ben_rel' || '_probe', :'ben_rel' || '_lists')), 0,
  'deleting a generation''s chunks drops its index tables in the same transaction');
select is((select count(*)::int from public.chunk_embeddings where job_id = :'ben_gen'), 0,
  'and their vectors');
reset soulprint.exact_search_max_chunks;

select tests.authenticate_as(:'ann');
set local soulprint.exact_search_max_chunks = 10;
select is(array(select id from public.nearest_chunks((select v from q), 50)), (select ids50 from exact where uid = :'ann'),
  'exact search over the generation when it has no index: all 40, in exact order');
reset soulprint.exact_search_max_chunks;

select tests.authenticate_as_anon();
select throws_ok($$ select * from public.conversation_chunks $$, '42501', null, 'anon reads no chunks');
select throws_ok($$ select * from public.chunk_embeddings $$, '42501', null, 'anon reads no vectors');
select throws_ok($$ select * from public.match_conversation_chunks(null, 1, 0) $$, '42501', null, 'anon cannot search');

select * from finish();
rollback;
