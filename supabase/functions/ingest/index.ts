import { loadPlatformConfig } from "../../../shared/adapters/config.ts";
import { createDb } from "../../../shared/adapters/db.ts";
import { SupabaseObjectStore } from "../../../shared/adapters/storage.ts";
import { PostgresTaskStore } from "../../../shared/adapters/tasks.ts";
import { ingestHandler } from "./handler.ts";

const config = loadPlatformConfig();
const db = createDb(config);
const handle = ingestHandler(new SupabaseObjectStore(config.supabaseUrl, config.serviceKeys[0]!));
Deno.serve((req) => handle(req, { db, tasks: new PostgresTaskStore(db), serviceKeys: config.serviceKeys }));
