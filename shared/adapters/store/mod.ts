/**
 * The pipeline stages' store, one port per concern. A stage reads and writes only through these
 * interfaces; `postgresStore` binds the Postgres implementations to a connection (the pool for
 * reads before a task's transaction, the task's transaction for its writes). Every write is keyed
 * by a natural key, so running a task twice leaves the same rows.
 */
import type { Conn } from "../db.ts";
import { type ArtifactStore, postgresArtifacts } from "./artifacts.ts";
import { type ChunkStore, postgresChunks } from "./chunks.ts";
import { type ConversationStore, postgresConversations } from "./conversations.ts";
import { type FactStore, postgresFacts } from "./facts.ts";
import { type GenerationStore, postgresGenerations } from "./generations.ts";
import { type JobStore, postgresJobs } from "./jobs.ts";
import { type NotificationStore, postgresNotifications } from "./notifications.ts";

export interface PipelineStore {
  jobs: JobStore;
  conversations: ConversationStore;
  chunks: ChunkStore;
  facts: FactStore;
  artifacts: ArtifactStore;
  generations: GenerationStore;
  notifications: NotificationStore;
}

/** A store bound to a connection or transaction. */
export type OpenStore = (conn: Conn) => PipelineStore;

export const postgresStore: OpenStore = (conn) => ({
  jobs: postgresJobs(conn),
  conversations: postgresConversations(conn),
  chunks: postgresChunks(conn),
  facts: postgresFacts(conn),
  artifacts: postgresArtifacts(conn),
  generations: postgresGenerations(conn),
  notifications: postgresNotifications(conn),
});
