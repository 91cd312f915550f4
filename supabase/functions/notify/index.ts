import { loadPlatformConfig } from "../../../shared/adapters/config.ts";
import { createDb } from "../../../shared/adapters/db.ts";
import { PostgresWebhookOutbox } from "../../../shared/adapters/webhook.ts";
import { handle } from "./handler.ts";

const config = loadPlatformConfig();
const deps = {
  outbox: new PostgresWebhookOutbox(createDb(config)),
  webhook: { url: config.webhookUrl, secret: config.webhookSecret },
  serviceKeys: config.serviceKeys,
};
Deno.serve((req) => handle(req, deps));
