import { loadPlatformConfig, loadProviderConfig } from "../../../shared/adapters/config.ts";
import { createDb } from "../../../shared/adapters/db.ts";
import { createEmbedder, createLlm } from "../../../shared/adapters/providers.ts";
import { handle } from "./handler.ts";

const config = loadPlatformConfig();
const providers = loadProviderConfig();
const db = createDb(config, 5);
const deps = { db, llm: createLlm(providers, db), embedder: createEmbedder(providers, db) };
Deno.serve((req) => handle(req, deps));
