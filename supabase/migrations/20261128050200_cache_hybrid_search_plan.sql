-- The chat path calls hybrid_search_chunks on every turn. A `language sql` function with a SET
-- clause is never inlined and PostgreSQL 15 plans its body on every call (about a third of the
-- call's time on a small index); as plpgsql the plan is cached per session. Same signature,
-- same result, same security (invoker, empty search_path).
create or replace function public.hybrid_search_chunks(
  keywords text, query_embedding extensions.vector(768) default null, match_count integer default 10,
  keyword_weight double precision default 1.5, vector_weight double precision default 1.0, rrf_k integer default 60
) returns table (id uuid, conversation_id text, title text, content text, created_at timestamptz, rrf_score double precision, method text)
language plpgsql stable security invoker set search_path = '' as $$
#variable_conflict use_column
begin
  return query
  with kw as (
    select c.id, row_number() over (order by ts_rank_cd(c.fts, q) desc, c.created_at desc) as rn
      from public.conversation_chunks c, to_tsquery('simple', coalesce(nullif(keywords, ''), 'a & !a')) q
     where c.user_id = (select auth.uid()) and nullif(keywords, '') is not null and c.fts @@ q
     order by rn limit 30
  ), vec as (
    select c.id, row_number() over (order by c.embedding operator(extensions.<=>) query_embedding) as rn
      from public.conversation_chunks c
     where c.user_id = (select auth.uid()) and query_embedding is not null and c.embedding is not null
     order by c.embedding operator(extensions.<=>) query_embedding limit 30
  ), fused as (
    select coalesce(kw.id, vec.id) as id,
           coalesce(keyword_weight / (rrf_k + kw.rn), 0) + coalesce(vector_weight / (rrf_k + vec.rn), 0) as score,
           case when kw.id is not null and vec.id is not null then 'hybrid' when kw.id is not null then 'keyword' else 'vector' end as method
      from kw full join vec on kw.id = vec.id
  )
  select c.id, c.conversation_id, c.title, c.content, c.created_at, round(f.score::numeric, 4)::double precision, f.method
    from fused f join public.conversation_chunks c on c.id = f.id
   order by f.score desc, c.created_at desc
   limit least(greatest(match_count, 1), 50);
end
$$;
