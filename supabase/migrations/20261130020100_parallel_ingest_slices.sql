-- Ingest slices of one import run in parallel: each slice hands the next one off as soon as its
-- scan has found where that starts (private.enqueue_continuation), so while it parses and writes,
-- the next slice is already reading. Up to 4 per import (the scan chain rarely keeps more busy);
-- the stage's global cap across imports is unchanged.
update private.stages set max_running_per_job = 4 where stage = 'ingest';
