/**
 * memory (v2): MEMORY markdown from the consolidated facts, validated (five headings in order,
 * no placeholder, no fallback text); up to three attempts. Staged for regenerate and finalize
 * (the profile takes it when finalize swaps generations). After repeated failure the generation
 * records memory_status=degraded with a code; a fallback text is never stored as memory.
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import type { LlmResult } from "../../../shared/adapters/llm/types.ts";
import { getArtifact, stageMemory } from "../../../shared/adapters/pipeline-store.ts";
import { createStageHandler } from "../../../shared/adapters/stage-handler.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { memoryPrompt } from "../../../shared/processors/prompts.ts";
import { memoryProblems } from "../../../shared/processors/render.ts";
import { stripFences } from "../../../shared/processors/json-extract.ts";

export const memory: StageFactory = (rt) =>
  createStageHandler({
    stages: ["memory"],
    claimBatch: 1,
    async prepare(task, db) {
      const facts = await getArtifact(db, task.job_id, "consolidated_facts") ?? {};
      const results: LlmResult[] = [];
      let problems: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = await rt.llm.complete({
          ...memoryPrompt(JSON.stringify(facts, null, 2)),
          deadline: Date.now() + 60_000,
        });
        results.push(r);
        const md = stripFences(r.text);
        problems = memoryProblems(md);
        if (problems.length === 0) return { md, results, problems };
      }
      return { md: null, results, problems };
    },
    async process(task, tx, pre) {
      const { md, results, problems } = pre as { md: string | null; results: LlmResult[]; problems: string[] };
      await stageMemory(
        tx,
        task.job_id,
        md
          ? { memory_md: md, memory_status: "ready", memory_error_code: null }
          : { memory_md: null, memory_status: "degraded", memory_error_code: "MEMORY_INVALID" },
      );
      return { counters: { cost: llmCost(results) }, result: { valid: !!md, attempts: results.length, problems } };
    },
  });
