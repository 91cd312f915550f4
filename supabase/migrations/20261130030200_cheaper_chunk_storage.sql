-- Chunk rows are stored without compressing what does not compress, and with lz4 where it does.
--
-- A chunk row passes PostgreSQL's 2 KB TOAST threshold, so every insert compressed its content and
-- full-text vector, and every embedding written compressed its vectors, all with the default
-- pglz: 2.4 % of the machine's CPU during an import went to pglz_compress. Vectors are floats and
-- barely compress: the full vector is kept out of line uncompressed (external), the halfvec copy
-- that exact search scans stays in the row uncompressed (plain: 1.5 KB, read without a detoast).
-- Text and tsvectors compress with lz4, several times cheaper than pglz (as raw_conversations'
-- messages already do). The settings apply to rows written from now on.
alter table public.conversation_chunks
  alter column content set compression lz4,
  alter column fts set compression lz4,
  alter column embedding set storage external,
  alter column embedding_half set storage plain;
