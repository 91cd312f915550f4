-- Pipeline configuration: which stages exist, how each is run (function, lease, retries,
-- batching, concurrency), which stages each pipeline version runs in what order, and the
-- rollout that routes users to a version. Data here is configuration, not user data.

/* One row per stage: how its tasks are executed. */
create table if not exists private.stages (
  stage text primary key check (stage ~ '^[a-z][a-z0-9_]*$'),
  function_name text not null check (function_name ~ '^[a-z0-9][a-z0-9_-]*$'),
  label text not null,                          -- human text shown as import_stage
  lease_seconds integer not null default 200    -- > the longest run of the stage's function
    check (lease_seconds between 5 and 3600),
  max_attempts integer not null default 5 check (max_attempts between 1 and 50),
  backoff_base_ms integer not null default 2000 check (backoff_base_ms > 0),
  backoff_cap_ms integer not null default 300000 check (backoff_cap_ms > 0),
  batch_size integer not null default 1 check (batch_size between 1 and 100),   -- task ids per kick
  concurrency_cap integer not null default 8 check (concurrency_cap between 1 and 1000), -- running tasks, all jobs
  max_running_per_job integer not null default 2 check (max_running_per_job between 1 and 1000),
  priority integer not null default 0           -- higher first when one function serves several stages
);
comment on table private.stages is
  'How each stage runs: Edge Function, lease (must exceed its longest run), retries with capped '
  'exponential backoff, kick batching, concurrency caps (global and per job) for fairness.';

create table if not exists private.pipeline_versions (
  version text primary key check (version ~ '^[a-z0-9][a-z0-9_-]*$'),
  description text not null,
  selectable boolean not null default true     -- false: never chosen by the rollout (diagnostics)
);

/* Stage order per version and the progress each stage starts at. */
create table if not exists private.pipeline_stages (
  version text not null references private.pipeline_versions (version) on delete cascade,
  position integer not null check (position >= 1),
  stage text not null references private.stages (stage),
  progress_start integer not null check (progress_start between 0 and 99),
  primary key (version, position),
  unique (version, stage)
);

/* Single-row rollout: users whose stable bucket (0..99) is below candidate_percent get the candidate. */
create table if not exists private.pipeline_rollout (
  id boolean primary key default true check (id),
  stable_version text not null references private.pipeline_versions (version),
  candidate_version text references private.pipeline_versions (version),
  candidate_percent integer not null default 0 check (candidate_percent between 0 and 100),
  updated_at timestamptz not null default now()
);

insert into private.stages (stage, function_name, label, lease_seconds, max_attempts, batch_size, concurrency_cap, max_running_per_job, priority) values
  ('ingest',      'ingest',      'Parsing conversations',        200, 5,  1,  8, 1, 10),
  ('quick_pass',  'quick-pass',  'Generating soulprint',         200, 4,  1,  8, 1, 10),
  ('chunk',       'chunk',       'Chunking conversations',       200, 5,  4,  8, 4, 5),
  ('embed',       'embed',       'Embedding chunks',             200, 5,  4,  8, 4, 5),
  ('extract',     'extract',     'Extracting facts',             200, 5,  4,  8, 3, 0),
  ('consolidate', 'consolidate', 'Consolidating facts',          200, 5,  1,  8, 1, 0),
  ('memory',      'memory',      'Writing MEMORY',               200, 4,  1,  8, 1, 0),
  ('regenerate',  'regenerate',  'Refining soulprint',           200, 4,  1,  8, 1, 0),
  ('finalize',    'finalize',    'Finishing',                    200, 5,  1,  8, 1, 10),
  ('selftest_fanout', 'selftest', 'Self-test: fan-out',           15, 5, 10, 16, 4, 0),
  ('selftest_finish', 'selftest', 'Self-test: fan-in',            15, 5,  1, 16, 1, 0)
on conflict (stage) do nothing;

insert into private.pipeline_versions (version, description, selectable) values
  ('v1', 'quick: sections from a sample, chunks, embeddings', true),
  ('v2', 'full: v1 plus facts, MEMORY and regenerated sections', true),
  ('selftest', 'diagnostic: fan-out and fan-in through the real orchestrator', false)
on conflict (version) do nothing;

insert into private.pipeline_stages (version, position, stage, progress_start) values
  ('v1', 1, 'ingest', 0), ('v1', 2, 'quick_pass', 30), ('v1', 3, 'chunk', 50),
  ('v1', 4, 'embed', 65), ('v1', 5, 'finalize', 95),
  ('v2', 1, 'ingest', 0), ('v2', 2, 'quick_pass', 20), ('v2', 3, 'chunk', 30),
  ('v2', 4, 'embed', 40), ('v2', 5, 'extract', 55), ('v2', 6, 'consolidate', 75),
  ('v2', 7, 'memory', 82), ('v2', 8, 'regenerate', 88), ('v2', 9, 'finalize', 96),
  ('selftest', 1, 'selftest_fanout', 0), ('selftest', 2, 'selftest_finish', 90)
on conflict do nothing;

insert into private.pipeline_rollout (stable_version, candidate_version, candidate_percent)
values ('v1', 'v2', 100)
on conflict (id) do nothing;

grant select on private.stages, private.pipeline_versions, private.pipeline_stages, private.pipeline_rollout to service_role;
