-- Extraction's first task runs beside embedding instead of after the vector index.
--
-- The first task of extract plans the stage: it ranges the import's conversations and finds the
-- person's repeated messages across all of them (one statement over every message: ~10 s for a
-- 1 GB export) before any extraction request can start. It needs only the ingested conversations,
-- so it now starts once embedding has begun (private.early_stages, the mechanism the quick pass
-- uses beside ingest): its planned tasks wait for the stage proper, then start at once. A small
-- import whose embedding ends first plans at extract's turn, as before.
insert into private.early_stages (stage, after_stage, window_tasks, window_conversations)
values ('extract', 'embed', 1, 1)
on conflict (stage) do nothing;
