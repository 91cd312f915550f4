/** The job a stage works for: who it belongs to, which pipeline it runs, and its running totals. */
import { PipelineError } from "../../processors/errors.ts";
import type { Conn } from "../db.ts";

export interface JobInfo {
  id: string;
  user_id: string;
  pipeline_version: string;
  storage_path: string;
  /** ISO-8601 UTC. */
  created_at: string;
}

/** The job's counters as the stages left them (processing_jobs). */
export interface JobTotals {
  conversation_count: number;
  message_count: number;
  chunk_count: number;
  embedding_count: number;
  fact_count: number;
  cost_usd: number;
  /** Per-stage cost counters ({stage: {usd, llm_input_tokens, ...}}). */
  cost: Record<string, Record<string, number>>;
}

export interface JobStore {
  /** @throws PipelineError NOT_FOUND when there is no such job. */
  info(jobId: string): Promise<JobInfo>;
  /** @throws PipelineError NOT_FOUND when there is no such job. */
  totals(jobId: string): Promise<JobTotals>;
}

export function postgresJobs(conn: Conn): JobStore {
  return {
    async info(jobId) {
      const [r] = await conn`select id, user_id, pipeline_version, storage_path, created_at
                               from public.processing_jobs where id = ${jobId}`;
      if (!r) throw new PipelineError("NOT_FOUND", `job ${jobId} not found`);
      return {
        id: String(r.id),
        user_id: String(r.user_id),
        pipeline_version: String(r.pipeline_version),
        storage_path: String(r.storage_path),
        created_at: new Date(r.created_at).toISOString(),
      };
    },
    async totals(jobId) {
      const [r] = await conn`select conversation_count, message_count, chunk_count, embedding_count, fact_count,
                                    cost_usd::float8 as cost_usd, cost
                               from public.processing_jobs where id = ${jobId}`;
      if (!r) throw new PipelineError("NOT_FOUND", `job ${jobId} not found`);
      return {
        conversation_count: Number(r.conversation_count),
        message_count: Number(r.message_count),
        chunk_count: Number(r.chunk_count),
        embedding_count: Number(r.embedding_count),
        fact_count: Number(r.fact_count),
        cost_usd: Number(r.cost_usd),
        cost: r.cost ?? {},
      };
    },
  };
}
