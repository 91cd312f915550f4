import { createUserVerifier } from "../../../shared/adapters/auth.ts";
import {
  loadConfig,
  loadPlatformConfig,
  loadProviderConfig,
  loadUserAccessConfig,
} from "../../../shared/adapters/config.ts";
import { createDb } from "../../../shared/adapters/db.ts";
import { createEmbedder, createLlm } from "../../../shared/adapters/providers.ts";
import { PostgresUserLimiter } from "../../../shared/adapters/user-limits.ts";
import { handle } from "./handler.ts";

const { platform: config, providers, access } = loadConfig({
  platform: loadPlatformConfig,
  providers: loadProviderConfig,
  access: loadUserAccessConfig,
});
const db = createDb(config, 5);
const deps = {
  db,
  llm: createLlm(providers, db),
  embedder: createEmbedder(providers, db),
  auth: createUserVerifier(access),
  limits: new PostgresUserLimiter(db, access.userRate),
};
Deno.serve((req) => handle(req, deps));
