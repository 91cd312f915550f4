-- Retrieval for chat: vector match and hybrid (full text + vector, reciprocal rank fusion) over
-- the CALLING user's chunks only. Both are security invoker: RLS and auth.uid() decide whose
-- rows are seen, never a user id a caller could pass.

/*
 * public.match_conversation_chunks(query_embedding, match_count default 10, match_threshold default 0.3)
 * Called by: the query/chat functions as the user (PostgREST semantics). Chunks of auth.uid()
 * by cosine similarity above the threshold, best first (at most 50). Stable, no writes.
 */
create or replace function public.match_conversation_chunks(
  query_embedding extensions.vector(768), match_count integer default 10, match_threshold double precision default 0.3
) returns table (id uuid, conversation_id text, title text, content text, created_at timestamptz, similarity double precision)
language sql stable security invoker set search_path = '' as $$
  select c.id, c.conversation_id, c.title, c.content, c.created_at,
         1 - (c.embedding operator(extensions.<=>) query_embedding) as similarity
    from public.conversation_chunks c
   where c.user_id = (select auth.uid()) and c.embedding is not null
     and 1 - (c.embedding operator(extensions.<=>) query_embedding) > match_threshold
   order by c.embedding operator(extensions.<=>) query_embedding
   limit least(greatest(match_count, 1), 50)
$$;
comment on function public.match_conversation_chunks(extensions.vector, integer, double precision) is
  'Vector search over the calling user''s chunks (auth.uid()). Security invoker. Stable.';

/*
 * public.hybrid_search_chunks(keywords tsquery text, query_embedding null = keyword only,
 *   match_count 10, keyword_weight 1.5, vector_weight 1.0, rrf_k 60)
 * Reciprocal rank fusion of up to 30 full-text and 30 vector hits of auth.uid()'s chunks:
 * score = Σ weight / (rrf_k + rank). Each hit is labelled keyword, vector or hybrid.
 * `keywords` is a to_tsquery('simple') expression (e.g. 'kyoto | trip'); null or empty skips
 * full text. Stable, no writes.
 */
create or replace function public.hybrid_search_chunks(
  keywords text, query_embedding extensions.vector(768) default null, match_count integer default 10,
  keyword_weight double precision default 1.5, vector_weight double precision default 1.0, rrf_k integer default 60
) returns table (id uuid, conversation_id text, title text, content text, created_at timestamptz, rrf_score double precision, method text)
language sql stable security invoker set search_path = '' as $$
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
   limit least(greatest(match_count, 1), 50)
$$;
comment on function public.hybrid_search_chunks(text, extensions.vector, integer, double precision, double precision, integer) is
  'Hybrid full-text + vector search (RRF, k=60) over the calling user''s chunks. Security invoker. Stable.';

revoke all on function public.match_conversation_chunks(extensions.vector, integer, double precision),
  public.hybrid_search_chunks(text, extensions.vector, integer, double precision, double precision, integer) from public, anon;
grant execute on function public.match_conversation_chunks(extensions.vector, integer, double precision),
  public.hybrid_search_chunks(text, extensions.vector, integer, double precision, double precision, integer) to authenticated, service_role;
