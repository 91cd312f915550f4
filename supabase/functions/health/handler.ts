/**
 * health: GET reports whether the function's real dependencies answer (database);
 * POST {ping_id} (service secret) answers a database health round trip.
 */
import { z } from "zod";
import type { Db } from "../../../shared/adapters/db.ts";
import { answerHealthCheck, probeDatabase } from "../../../shared/adapters/health.ts";
import { errorResponse, readJson, requireServiceCaller } from "../../../shared/adapters/http.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";

export interface HealthDeps {
  db: Db;
  serviceKeys: readonly string[];
}

const Ping = z.object({ ping_id: z.number().int().positive() });

export async function handle(req: Request, deps: HealthDeps): Promise<Response> {
  try {
    if (req.method === "GET") {
      const ms = await probeDatabase(deps.db);
      return Response.json({ status: "ok", service: "soulprint", checks: { database: { ok: true, ms } } });
    }
    if (req.method !== "POST") throw new PipelineError("INPUT_INVALID", `method ${req.method} not allowed`);
    requireServiceCaller(req, deps.serviceKeys);
    const parsed = Ping.safeParse(await readJson(req));
    if (!parsed.success) throw new PipelineError("INPUT_INVALID", "body must be {ping_id: positive integer}");
    if (!await answerHealthCheck(deps.db, parsed.data.ping_id)) {
      throw new PipelineError("NOT_FOUND", `health check ${parsed.data.ping_id} not found`);
    }
    return Response.json({ ping_id: parsed.data.ping_id, status: "ok" });
  } catch (err) {
    return errorResponse(err);
  }
}
