-- Slices of an import are written in parallel, so the order rows arrive in no longer follows the
-- export. `ordinal` keeps each conversation's position in the export's array (0-based; null for
-- rows written before it existed), for whoever needs the export's order (e.g. a first window of
-- the newest conversations), and lets a conversation id seen twice keep the later one, as a
-- sequential import did.
alter table public.raw_conversations add column if not exists ordinal integer;
comment on column public.raw_conversations.ordinal is
  'Position of the conversation in the export''s conversations array (0-based); null for rows imported before it was kept.';
