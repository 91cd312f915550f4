/**
 * The person's SoulPrint and which import is its current generation (public.user_profiles), and
 * the swap that makes a finished import current.
 */
import { PipelineError } from "../../processors/errors.ts";
import type { Conn } from "../db.ts";
import type { JobInfo } from "./jobs.ts";

/** Profile columns to set, by name (the SoulPrint fields and the status contract). */
export type ProfileFields = Record<string, unknown>;

/** Rows an older generation lost when a new one became current. */
export interface DroppedRows {
  facts: number;
  chunks: number;
  conversations: number;
}

export interface GenerationStore {
  /** Upserts profile fields. @throws PipelineError INTERNAL when no row was written. */
  writeProfile(userId: string, fields: ProfileFields): Promise<void>;
  /**
   * Makes the import the person's current generation when they have none yet (a first import), so
   * they can chat with its quick-pass SoulPrint while the full pass runs. Returns whether the import
   * is current; a re-import leaves the current generation alone until finalize swaps it. Locks the
   * job's row first, so the profile writes of the caller's transaction cannot deadlock with tasks
   * completing beside it.
   */
  claimFirst(job: Pick<JobInfo, "id" | "user_id">): Promise<boolean>;
  /**
   * Makes `job` the person's current generation (with `fields` on the profile) and deletes every
   * other generation's facts, chunks, conversations and staged artifacts, in the caller's
   * transaction: readers see the old SoulPrint or the new one, never a mixture.
   */
  swap(job: Pick<JobInfo, "id" | "user_id">, fields: ProfileFields): Promise<DroppedRows>;
}

export function postgresGenerations(conn: Conn): GenerationStore {
  const writeProfile = async (userId: string, fields: ProfileFields) => {
    const update: ProfileFields = { ...fields, updated_at: new Date() };
    const insert: ProfileFields = { user_id: userId, ...update };
    const [r] = await conn`insert into public.user_profiles ${conn(insert)}
      on conflict (user_id) do update set ${conn(update)}
      returning user_id`;
    if (!r) throw new PipelineError("INTERNAL", `profile write for ${userId} affected no row`);
  };
  /**
   * The job's row before the profile's: the order of everything that updates the job, whose
   * trigger then updates the profile (a task completing, `cancel_job`, `retry_job`).
   */
  const lockJob = async (job: Pick<JobInfo, "id">) => {
    await conn`select from public.processing_jobs where id = ${job.id} for no key update`;
  };
  return {
    writeProfile,
    async claimFirst(job) {
      // The quick pass, which runs beside ingest, took the profile first and deadlocked with
      // completing ingest slices, and its retry held quick_ready back (24 s instead of 5 on 1 GB).
      await lockJob(job);
      const [r] =
        await conn`insert into public.user_profiles (user_id, generation_id) values (${job.user_id}, ${job.id})
        on conflict (user_id) do update set generation_id = coalesce(public.user_profiles.generation_id, excluded.generation_id)
        returning generation_id = ${job.id} as mine`;
      return r?.mine === true;
    },
    async swap(job, fields) {
      // Finalize took the profile first and deadlocked with a `cancel_job` of the same import
      // arriving as it finished (the cancel failed with "deadlock detected").
      await lockJob(job);
      await writeProfile(job.user_id, { ...fields, generation_id: job.id });
      const facts = await conn`delete from public.memory_facts where user_id = ${job.user_id} and job_id <> ${job.id}`;
      const chunks =
        await conn`delete from public.conversation_chunks where user_id = ${job.user_id} and job_id <> ${job.id}`;
      const convs =
        await conn`delete from public.raw_conversations where user_id = ${job.user_id} and job_id <> ${job.id}`;
      await conn`delete from private.job_artifacts a using public.processing_jobs j
                  where j.id = a.job_id and j.user_id = ${job.user_id} and j.id <> ${job.id}`;
      return { facts: facts.count, chunks: chunks.count, conversations: convs.count };
    },
  };
}
