/**
 * memory (v2): MEMORY markdown from the consolidated facts, validated (five headings in order,
 * no placeholder, no fallback text). One model call per task run, so that every invocation fits
 * the platform's limits: an invalid output fails the task retriably (LLM_OUTPUT_INVALID) and the
 * orchestrator runs it again in a fresh invocation; on the task's MEMORY_ATTEMPTS-th attempt an
 * invalid output records memory_status=degraded with a code instead. Staged for regenerate and
 * finalize (the profile takes it when finalize swaps generations); a fallback text is never
 * stored as memory.
 */
import { PipelineError } from "../../../shared/processors/errors.ts";
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import type { LlmProvider, LlmResult } from "../../../shared/adapters/llm/types.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type TwoPhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import { memoryPrompt } from "../../../shared/processors/prompts.ts";
import { memoryProblems } from "../../../shared/processors/render.ts";
import { stripFences } from "../../../shared/processors/json-extract.ts";

/** Attempts (task runs, counted by the orchestrator) before MEMORY is recorded as degraded. */
export const MEMORY_ATTEMPTS = 3;

interface Prepared {
  /** The validated MEMORY, or null when the last attempt was still invalid. */
  md: string | null;
  result: LlmResult;
  problems: string[];
}

export const memoryStage = (llm: LlmProvider): TwoPhaseStoreStage<Prepared> => ({
  stages: ["memory"],
  async prepare(task, { store }) {
    const facts = await store.artifacts.stagedFacts(task.job_id) ?? {};
    const result = await llm.complete({
      ...memoryPrompt(JSON.stringify(facts, null, 2)),
      deadline: Date.now() + 60_000,
    });
    const md = stripFences(result.text);
    const problems = memoryProblems(md);
    const last = task.attempts >= Math.min(MEMORY_ATTEMPTS, task.max_attempts);
    if (problems.length > 0 && !last) {
      throw new PipelineError(
        "LLM_OUTPUT_INVALID",
        `MEMORY attempt ${task.attempts} of ${MEMORY_ATTEMPTS} was invalid: ${problems.join("; ")}`,
      );
    }
    return { md: problems.length === 0 ? md : null, result, problems };
  },
  async process(task, store, { md, result, problems }) {
    await store.artifacts.stageMemory(
      task.job_id,
      md
        ? { memory_md: md, memory_status: "ready", memory_error_code: null }
        : { memory_md: null, memory_status: "degraded", memory_error_code: "MEMORY_INVALID" },
    );
    return {
      counters: { cost: llmCost([result]) },
      result: { valid: !!md, attempts: task.attempts, problems },
    };
  },
});

export const memory: StageFactory = (rt) => createStoreStageHandler(memoryStage(rt.llm), rt.openStore);
