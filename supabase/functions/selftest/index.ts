import { loadPlatformConfig } from "../../../shared/adapters/config.ts";
import { createDb } from "../../../shared/adapters/db.ts";
import { PostgresTaskStore } from "../../../shared/adapters/tasks.ts";
import { handle } from "./handler.ts";

const config = loadPlatformConfig();
const db = createDb(config);
const tasks = new PostgresTaskStore(db);
Deno.serve((req) => handle(req, { db, tasks, serviceKeys: config.serviceKeys }));
