/**
 * notify: delivers completion webhooks from the outbox (private.webhook_deliveries). Kicked by
 * the outbox's insert trigger right after finalize commits, and by the webhook sweeper for
 * retries. Claims due deliveries (the kicked ids first), sends each signed, and records every
 * attempt; the database schedules the next one with backoff or gives up. Answers 207 with the
 * delivery ids by new state: delivered, pending (retry scheduled), given_up, ignored (stale).
 */
import { z } from "zod";
import { PipelineError } from "../../../shared/processors/errors.ts";
import { errorResponse, readJson, requireServiceCaller } from "../../../shared/adapters/http.ts";
import { type AttemptOutcome, sendWebhook, type WebhookOutbox } from "../../../shared/adapters/webhook.ts";

export interface NotifyDeps {
  outbox: WebhookOutbox;
  webhook: { url: string | null; secret: string | null };
  serviceKeys: readonly string[];
  /** Stop claiming after this much wall time (an attempt takes at most 10 s). @default 45000 */
  budgetMs?: number;
}

const Kick = z.object({ delivery_ids: z.array(z.number().int().positive()).max(1000).optional() });

/** Deliveries sent at once per round. */
const BATCH = 8;

const log = (event: string, fields: Record<string, unknown>) => console.log(JSON.stringify({ event, ...fields }));

export async function handle(req: Request, deps: NotifyDeps): Promise<Response> {
  const started = Date.now();
  try {
    requireServiceCaller(req, deps.serviceKeys);
    const kick = Kick.safeParse(await readJson(req));
    if (!kick.success) throw new PipelineError("INPUT_INVALID", "body must be {delivery_ids?: number[]}");
    const { url, secret } = deps.webhook;
    const byState: Record<string, number[]> = { delivered: [], pending: [], given_up: [], ignored: [] };
    let hint: number[] | null = kick.data.delivery_ids ?? null;
    while (Date.now() - started < (deps.budgetMs ?? 45_000)) {
      const batch = await deps.outbox.claim(hint, BATCH);
      hint = null;
      if (batch.length === 0) break;
      await Promise.all(batch.map(async (d) => {
        const outcome: AttemptOutcome = url && secret
          ? await sendWebhook({ url, secret, id: d.webhook_id, body: JSON.stringify(d.payload) })
          : {
            delivered: false,
            status: null,
            code: "WEBHOOK_NOT_CONFIGURED",
            error: "COMPLETION_WEBHOOK_URL is not configured",
            durationMs: 0,
          };
        const state = await deps.outbox.record(d, url, outcome);
        (byState[state] ??= []).push(d.id);
        log(`webhook.${state}`, {
          jobId: d.job_id,
          deliveryId: d.id,
          attempt: d.attempts,
          status: outcome.status,
          code: outcome.code,
          durationMs: outcome.durationMs,
        });
      }));
    }
    return Response.json(byState, { status: 207 });
  } catch (err) {
    return errorResponse(err);
  }
}
