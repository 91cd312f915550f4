import { loadPlatformConfig } from "../../../shared/adapters/config.ts";
import { createDb } from "../../../shared/adapters/db.ts";
import { handle } from "./handler.ts";

const config = loadPlatformConfig();
const db = createDb(config);
Deno.serve((req) => handle(req, { db, serviceKeys: config.serviceKeys }));
