/**
 * Wiring shared by the pipeline's stage functions: configuration, the database, the task API,
 * the model providers and storage, built once per worker. Keeps every index.ts to one line.
 */
import { loadConfig, loadPlatformConfig, loadProviderConfig } from "./config.ts";
import { createDb, type Db } from "./db.ts";
import type { Embedder } from "./embedder.ts";
import { withCapture } from "./llm/capture.ts";
import type { LlmProvider } from "./llm/types.ts";
import { createEmbedder, createLlm } from "./providers.ts";
import type { StageDeps } from "./stage-handler.ts";
import { type ObjectStore, SupabaseObjectStore } from "./storage.ts";
import { type OpenStore, postgresStore } from "./store/mod.ts";
import { PostgresTaskStore } from "./tasks.ts";

export interface Runtime {
  db: Db;
  llm: LlmProvider;
  embedder: Embedder;
  store: ObjectStore;
  /** The pipeline store, bound to a connection or a task's transaction. */
  openStore: OpenStore;
  webhook: { url: string | null; secret: string | null };
}

export type StageFactory = (rt: Runtime) => (req: Request, deps: StageDeps) => Promise<Response>;

export function serveStage(factory: StageFactory): void {
  const { platform: config, providers } = loadConfig({ platform: loadPlatformConfig, providers: loadProviderConfig });
  const db = createDb(config);
  const rt: Runtime = {
    db,
    llm: withCapture(createLlm(providers, db), providers.captureFile),
    embedder: createEmbedder(providers, db),
    store: new SupabaseObjectStore(config.supabaseUrl, config.serviceKeys[0]!),
    openStore: postgresStore,
    webhook: { url: config.webhookUrl, secret: config.webhookSecret },
  };
  const handle = factory(rt);
  const deps: StageDeps = { db, tasks: new PostgresTaskStore(db), serviceKeys: config.serviceKeys };
  Deno.serve((req) => handle(req, deps));
}
