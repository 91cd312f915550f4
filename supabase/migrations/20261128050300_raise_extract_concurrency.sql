-- Extract tasks spend most of their time waiting: for the shared rate limiter and for the
-- model. With 3 per job, a task's local work (loading chunks, mining candidate sentences,
-- writing facts) sometimes left the limiter without a waiting caller, so the job ran below
-- the provider's rate. 6 keeps a caller waiting at every refill; the global cap (8) still
-- bounds what all jobs together run.
update private.stages set max_running_per_job = 6 where stage = 'extract' and max_running_per_job = 3;
