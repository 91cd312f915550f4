/**
 * finalize: the generation swap, in one transaction: the profile takes this import's staged
 * sections and MEMORY, totals and cost, and points at this import; every older generation's rows
 * are deleted. Then, in a second task that runs only after that write has
 * committed, the completion notification (bearer secret, 3 attempts, outcome recorded).
 */
import {
  jobInfo,
  jobTotals,
  recordNotification,
  stagedMemory,
  stagedSections,
  swapGeneration,
} from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { Runtime, StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { PipelineError } from "../../../shared/processors/errors.ts";
import { profileFields } from "../../../shared/processors/profile.ts";
import { importCost } from "../../../shared/processors/cost-report.ts";

async function notify(
  rt: Runtime,
  body: unknown,
): Promise<{ attempts: number; status: number | null; outcome: string; error: string | null }> {
  let status: number | null = null, error: string | null = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const res = await fetch(rt.webhook.url!, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(rt.webhook.secret ? { authorization: `Bearer ${rt.webhook.secret}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      await res.body?.cancel();
      if (res.ok) return { attempts: attempt, status, outcome: "delivered", error: null };
      error = `HTTP ${res.status}`;
    } catch (e) {
      error = String(e).slice(0, 300);
    }
    await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
  return { attempts: 3, status, outcome: "failed", error };
}

export const finalize: StageFactory = (rt) =>
  createStageHandler({
    stages: ["finalize"],
    claimBatch: 1,
    async prepare(task, db) {
      if (task.task_key !== "finalize:notify") return null;
      if (!rt.webhook.url) {
        return { attempts: 0, status: null, outcome: "skipped", error: "no COMPLETION_WEBHOOK_URL configured" };
      }
      const job = await jobInfo(db, task.job_id);
      const t = await jobTotals(db, job.id);
      return await notify(rt, {
        user_id: job.user_id,
        job_id: job.id,
        soulprint_ready: true,
        conversations: t.conversation_count,
        messages: t.message_count,
        chunks: t.chunk_count,
        facts: t.fact_count,
      });
    },
    async process(task, tx, pre) {
      const job = await jobInfo(tx, task.job_id);
      if (task.task_key === "finalize:notify") {
        const n = pre as { attempts: number; status: number | null; outcome: string; error: string | null };
        await recordNotification(tx, job.id, { url: rt.webhook.url ?? "", ...n });
        return { result: n };
      }
      const t = await jobTotals(tx, job.id);
      const staged = await stagedSections(tx, job.id);
      if (!staged) throw new PipelineError("INTERNAL", `import ${job.id} reached finalize without sections`);
      const memory = await stagedMemory(tx, job.id);
      const dropped = await swapGeneration(tx, job, {
        ...profileFields(staged.sections, memory?.memory_md ?? null),
        generated_by: staged.generated_by,
        sections_source: staged.sections_source,
        soulprint_generated_at: staged.generated_at,
        memory_md: memory?.memory_md ?? null,
        memory_status: memory?.memory_status ?? "none",
        memory_error_code: memory?.memory_error_code ?? null,
        import_status: "complete",
        import_error: null,
        progress_percent: 100,
        import_stage: "Complete",
        full_pass_status: "complete",
        full_pass_completed_at: new Date(),
        full_pass_error: null,
        total_conversations: t.conversation_count,
        total_messages: t.message_count,
        total_chunks: t.chunk_count,
        total_facts: t.fact_count,
        import_cost_json: importCost(t.cost),
      });
      return { newTasks: [{ task_key: "finalize:notify" }], result: { dropped } };
    },
  });
