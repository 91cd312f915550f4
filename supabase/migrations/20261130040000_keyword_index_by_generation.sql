-- Full-text candidates straight from one index keyed by generation and lexeme.
--
-- keyword_chunks gathers up to 60 candidates per search term. With the full-text index alone,
-- a common term in a large history ("job": 19,000 matches among 305,000 chunks) was planned as a
-- bitmap of the term ANDed with bitmaps of every row of the caller (user_id) and of the generation
-- (job_id): 78,000 entries each for a 1 GB history, 26 ms of a 33 ms term, and up to five terms a
-- search. One GIN index over (job_id, fts) (btree_gin gives uuid a GIN operator class) answers
-- "this generation's rows holding this term" in one scan: 1.5-2.4 ms for the same term, and a
-- small user's search no longer depends on how common a word is in other people's histories.
--
-- A term found in more than half of all chunks ("want" in 99.6 %, "question" in 95 % of a generated
-- table) gathers no candidates of its own unless every term of the search is that common: its 60
-- candidates would be the first 60 rows on disk, not the best, and gathering them still cost 12 ms
-- a term through the index (the whole posting list is read). Such terms still count in the
-- ranking. The frequencies are the planner's statistics of fts (pg_stats.most_common_elems).
--
-- The generation implies the user (it comes from the caller's own profile), so the per-term
-- query filters on job_id alone; the ranking statement still checks user_id = auth.uid() on every
-- row it returns. The old index goes: a GIN index over several columns also serves a condition on
-- its second column alone, and nothing else searches fts.

create extension if not exists btree_gin with schema extensions;

create index if not exists conversation_chunks_job_fts on public.conversation_chunks
  using gin (job_id extensions.uuid_ops, fts);
drop index if exists public.conversation_chunks_fts;

/*
 * public.keyword_chunks(keywords, k default 30) -> table(id, rank)
 * The k chunks of the caller's current generation that best match `keywords` (a to_tsquery('simple')
 * expression such as 'kyoto | trip'), by ts_rank_cd, most recent first among equals.
 *
 * Security definer, on purpose: under row-level security PostgreSQL may use only leakproof
 * operators as index conditions and `@@` is not one, so as the user every search would read every
 * one of the person's tsvectors. It still reaches only the caller's rows: the generation comes
 * from the caller's own profile (auth.uid()), the ranking statement filters on
 * user_id = auth.uid(), no argument names a user or an import, and it returns ids and ranks only
 * (hybrid_search_chunks reads the content under RLS).
 *
 * Candidates are gathered per search term, at most 60 each, from the (job_id, fts) index (stopping
 * at 60): ranking reads each candidate's tsvector, and ranking every match of a common word in a
 * large history would cost about a second; a rare term brings all its chunks. Each term's query is
 * planned with its real values (dynamic SQL) and with bitmap scans only. A term in more than half
 * of all chunks (table statistics) gathers none unless every term is that common. Stable.
 */
create or replace function public.keyword_chunks(keywords text, k integer default 30)
returns table (id uuid, rank real)
language plpgsql stable security definer rows 30
set search_path = ''
set enable_seqscan = 'off'
set enable_indexscan = 'off'
set jit = 'off'
as $$
#variable_conflict use_column
declare
  me uuid;
  gen uuid;
  q tsquery;
  lx text;
  terms text[];
  common text[];
  part uuid[];
  cand uuid[] := '{}';
begin
  if nullif(btrim(coalesce(keywords, '')), '') is null then return; end if;
  me := auth.uid();
  select p.generation_id into gen from public.user_profiles p where p.user_id = me;
  if me is null or gen is null then return; end if;
  q := to_tsquery('simple', keywords);
  k := least(greatest(coalesce(k, 30), 1), 100);
  terms := tsvector_to_array(to_tsvector('simple', keywords));
  -- most_common_elem_freqs ends with three figures of its own (min, max, null fraction): e is null there.
  select coalesce(array_agg(u.e) filter (where u.e is not null and u.f > 0.5), '{}') into common
    from pg_catalog.pg_stats s,
         unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as u(e, f)
   where s.schemaname = 'public' and s.tablename = 'conversation_chunks' and s.attname = 'fts';
  if not terms <@ common then
    terms := array(select t from unnest(terms) t where t <> all(common));
  end if;
  foreach lx in array terms loop
    execute format('select array_agg(t.id) from (select c.id from public.conversation_chunks c
                     where c.job_id = %L and c.fts @@ %L::tsquery limit 60) t',
                   gen, quote_literal(lx))
      into part;
    cand := cand || coalesce(part, '{}');
  end loop;
  if cardinality(cand) = 0 then return; end if;
  -- The candidates are read by primary key and only then matched: planned as one statement, the
  -- match was also answered from the full-text index, reading a common term's whole posting list.
  return query
    with c as materialized (
      select c.id, c.fts, c.created_at from public.conversation_chunks c
       where c.id = any(cand) and c.user_id = me)
    select c.id, ts_rank_cd(c.fts, q) as rank
      from c
     where c.fts @@ q
     order by 2 desc, c.created_at desc
     limit k;
end
$$;
comment on function public.keyword_chunks(text, integer) is
  'Full-text search over the caller''s current generation (ids and ranks only), candidates bounded per term '
  'from the (job_id, fts) index. Security definer so the index can be used; scoped to auth.uid().';
