-- The minutely sweep loops pause without holding a snapshot.
--
-- Where pg_cron has no second-level schedules, private.sweep_for and private.sweep_webhooks_for
-- run for a minute and pause between sweeps with pg_sleep. A statement holds a snapshot while it
-- runs, so each pause (5 s, 10 s) held the database's cleanup horizon back: no version of any
-- row updated meanwhile could be pruned. The job row is updated on every task completion (30-70
-- times a second while an import runs), so its chain of dead versions grew to hundreds, and every
-- statement that finds that row walked the chain: each foreign-key check of a row that names
-- the job (186,000 of them for a 1 GB export, 0.12 ms each: 18x the same check on a row nobody
-- updates), each completion's lock of the job, each claim's read of it.
--
-- The pause is now slept in fifths of a second with a commit after each, so the horizon is never
-- held for longer than that. The sweeps themselves, their period and their schedule are unchanged
-- (hosted Supabase runs pg_cron >= 1.5 and schedules the sweeps every few seconds without these
-- loops).

/*
 * private.pause_committing(seconds) procedure
 * Sleeps `seconds` in slices of at most 0.2 s, committing after each, so no snapshot is held for
 * longer than a slice. Only from a procedure at top level (CALL outside a transaction block).
 */
create or replace procedure private.pause_committing(p_seconds numeric)
language plpgsql as $$
declare t_end timestamptz := clock_timestamp() + make_interval(secs => p_seconds);
begin
  while clock_timestamp() < t_end loop
    perform pg_catalog.pg_sleep(least(0.2, extract(epoch from t_end - clock_timestamp())));
    commit;
  end loop;
end $$;
revoke all on procedure private.pause_committing(numeric) from public, anon, authenticated;

/*
 * private.sweep_for(seconds, every) procedure
 * As in 20261128010600_schedule_sweeper.sql, pausing with private.pause_committing.
 */
create or replace procedure private.sweep_for(p_seconds integer, p_every integer)
language plpgsql as $$
declare t_end timestamptz := clock_timestamp() + make_interval(secs => p_seconds);
begin
  loop
    perform private.sweep();
    commit;
    exit when clock_timestamp() + make_interval(secs => p_every) > t_end;
    call private.pause_committing(p_every);
  end loop;
end $$;

/*
 * private.sweep_webhooks_for(seconds, every) procedure
 * As in 20261129020200_schedule_webhook_sweeper.sql, pausing with private.pause_committing.
 */
create or replace procedure private.sweep_webhooks_for(p_seconds integer, p_every integer)
language plpgsql as $$
declare t_end timestamptz := clock_timestamp() + make_interval(secs => p_seconds);
begin
  loop
    perform private.sweep_webhooks();
    commit;
    exit when clock_timestamp() + make_interval(secs => p_every) > t_end;
    call private.pause_committing(p_every);
  end loop;
end $$;
