/**
 * What a job's stages stage for later ones (private.job_artifacts, one per job and name, a
 * second write replacing the first): the sections, the consolidated facts and MEMORY. Reads are
 * checked against their schema, so a stage never works from a malformed document.
 */
import { z } from "zod";
import { PipelineError } from "../../processors/errors.ts";
import { type FactSet, FactsSchema, SectionsSchema } from "../../processors/schemas.ts";
import type { Conn } from "../db.ts";

const StagedSectionsSchema = z.object({
  sections: SectionsSchema,
  generated_by: z.string(),
  sections_source: z.enum(["quick_pass", "regenerate"]),
  /** ISO-8601 UTC. */
  generated_at: z.string(),
});
/** A generation's SoulPrint sections as staged by quick-pass or regenerate. */
export type StagedSections = z.infer<typeof StagedSectionsSchema>;

const StagedMemorySchema = z.object({
  memory_md: z.string().nullable(),
  memory_status: z.enum(["ready", "degraded"]),
  memory_error_code: z.string().nullable(),
});
/** A generation's MEMORY as staged by the memory stage. */
export type StagedMemory = z.infer<typeof StagedMemorySchema>;

/** Staged documents, by name. */
export type ArtifactName = "sections" | "memory" | "consolidated_facts";

export interface ArtifactStore {
  stageSections(jobId: string, s: StagedSections): Promise<void>;
  stagedSections(jobId: string): Promise<StagedSections | null>;
  stageMemory(jobId: string, m: StagedMemory): Promise<void>;
  stagedMemory(jobId: string): Promise<StagedMemory | null>;
  stageFacts(jobId: string, facts: FactSet): Promise<void>;
  stagedFacts(jobId: string): Promise<FactSet | null>;
}

/** Checks a stored artifact against its schema. @throws PipelineError INTERNAL when it does not match. */
export function readArtifact<T>(schema: z.ZodType<T>, name: ArtifactName, content: unknown): T {
  const parsed = schema.safeParse(content);
  if (!parsed.success) throw new PipelineError("INTERNAL", `staged ${name} is malformed: ${parsed.error.message}`);
  return parsed.data;
}

/** An ArtifactStore over any put/get of named JSON documents (the Postgres one and test doubles). */
export function artifactStore(
  put: (jobId: string, name: ArtifactName, content: unknown) => Promise<void>,
  get: (jobId: string, name: ArtifactName) => Promise<unknown>,
): ArtifactStore {
  const read = async <T>(schema: z.ZodType<T>, jobId: string, name: ArtifactName): Promise<T | null> => {
    const content = await get(jobId, name);
    return content === null || content === undefined ? null : readArtifact(schema, name, content);
  };
  return {
    stageSections: (jobId, s) => put(jobId, "sections", s),
    stagedSections: (jobId) => read(StagedSectionsSchema, jobId, "sections"),
    stageMemory: (jobId, m) => put(jobId, "memory", m),
    stagedMemory: (jobId) => read(StagedMemorySchema, jobId, "memory"),
    stageFacts: (jobId, facts) => put(jobId, "consolidated_facts", facts),
    stagedFacts: (jobId) => read(FactsSchema, jobId, "consolidated_facts"),
  };
}

export function postgresArtifacts(conn: Conn): ArtifactStore {
  return artifactStore(
    async (jobId, name, content) => {
      await conn`insert into private.job_artifacts (job_id, name, content)
                 values (${jobId}, ${name}, ${JSON.stringify(content)}::text::jsonb)
                 on conflict (job_id, name) do update set content = excluded.content, updated_at = now()`;
    },
    async (jobId, name) => {
      const [r] = await conn`select content from private.job_artifacts where job_id = ${jobId} and name = ${name}`;
      return r?.content ?? null;
    },
  );
}
