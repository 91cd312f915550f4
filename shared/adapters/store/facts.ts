/** A job's extracted facts (public.memory_facts), each on the chunk it was attributed to. */
import { PipelineError } from "../../processors/errors.ts";
import { type FactSet, FactsSchema } from "../../processors/schemas.ts";
import type { Conn } from "../db.ts";
import type { JobInfo } from "./jobs.ts";

/** The facts attributed to one chunk. */
export interface ChunkFacts {
  chunk_id: string;
  conversation_id: string;
  /** The conversation's date (ISO-8601), when known. */
  date: string | null;
  facts: FactSet;
}

export const FACT_CATEGORIES = ["preferences", "projects", "dates", "beliefs", "decisions"] as const;

export interface FactStore {
  /**
   * Stores the facts one extract task made (`source`: its task key), replacing what that task
   * stored before, and nothing else: one conversation's facts may come from several tasks.
   * @returns the number of facts stored
   */
  replace(job: Pick<JobInfo, "id" | "user_id">, source: string, perChunk: ChunkFacts[]): Promise<number>;
  /** The job's facts grouped by chunk, in the order they were stored, each with its conversation's date. */
  forJob(jobId: string): Promise<{ facts: FactSet; date: string | null }[]>;
}

/** One row per fact, in category order. */
export function factRows(perChunk: ChunkFacts[]) {
  return perChunk.flatMap((c) =>
    FACT_CATEGORIES.flatMap((category) =>
      [...c.facts[category]].map((fact) => ({
        chunk_id: c.chunk_id,
        conversation_id: c.conversation_id,
        date: c.date,
        category,
        fact,
      }))
    )
  );
}

/**
 * Groups stored fact rows (in storage order) by chunk, each checked against the facts schema.
 * @throws PipelineError INTERNAL on a row of an unknown category or shape.
 */
export function groupFacts(
  rows: { chunk_id: string; date: string | null; category: string; fact: unknown }[],
): { facts: FactSet; date: string | null }[] {
  const by = new Map<string, { raw: Record<string, unknown[]>; date: string | null }>();
  for (const r of rows) {
    if (!new Set<string>(FACT_CATEGORIES).has(r.category)) {
      throw new PipelineError("INTERNAL", `stored fact of unknown category ${r.category}`);
    }
    const e = by.get(r.chunk_id) ?? { raw: {}, date: r.date };
    (e.raw[r.category] ??= []).push(r.fact);
    by.set(r.chunk_id, e);
  }
  return [...by.values()].map(({ raw, date }) => {
    const parsed = FactsSchema.safeParse(raw);
    if (!parsed.success) {
      throw new PipelineError("INTERNAL", `stored facts do not match the schema: ${parsed.error.message}`);
    }
    return { facts: parsed.data, date };
  });
}

export function postgresFacts(conn: Conn): FactStore {
  return {
    async replace(job, source, perChunk) {
      await conn`delete from public.memory_facts where job_id = ${job.id} and source_task = ${source}`;
      const rows = factRows(perChunk);
      if (rows.length) {
        await conn`insert into public.memory_facts (user_id, job_id, chunk_id, conversation_id, conversation_date, category, fact, source_task)
          select ${job.user_id}, ${job.id}, x.chunk_id, x.conversation_id, x.date, x.category, x.fact, ${source}
            from json_to_recordset(${JSON.stringify(rows)}::text::json)
                 as x(chunk_id uuid, conversation_id text, date timestamptz, category text, fact jsonb)`;
      }
      return rows.length;
    },
    async forJob(jobId) {
      const rows = await conn`select chunk_id, conversation_date, category, fact from public.memory_facts
                               where job_id = ${jobId} order by id`;
      return groupFacts(rows.map((r) => ({
        chunk_id: String(r.chunk_id),
        date: r.conversation_date ? new Date(r.conversation_date).toISOString() : null,
        category: String(r.category),
        fact: r.fact,
      })));
    },
  };
}
