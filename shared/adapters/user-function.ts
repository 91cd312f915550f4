/**
 * The dependencies of a user-facing function (query, chat): configuration read once, one pool,
 * the configured model and embedder, JWT verification, the per-user limiter and CORS.
 */
import { createUserVerifier } from "./auth.ts";
import { loadConfig, loadCorsConfig, loadPlatformConfig, loadProviderConfig, loadUserAccessConfig } from "./config.ts";
import { createDb } from "./db.ts";
import { createEmbedder, createLlm } from "./providers.ts";
import { PostgresUserLimiter } from "./user-limits.ts";

/** Builds the real dependencies from the environment (throws naming every configuration problem). */
export function userFunctionDeps() {
  const { platform, providers, access, cors } = loadConfig({
    platform: loadPlatformConfig,
    providers: loadProviderConfig,
    access: loadUserAccessConfig,
    cors: loadCorsConfig,
  });
  const db = createDb(platform, 5);
  return {
    db,
    llm: createLlm(providers, db),
    embedder: createEmbedder(providers, db),
    auth: createUserVerifier(access),
    limits: new PostgresUserLimiter(db, access.userRate),
    cors,
  };
}
