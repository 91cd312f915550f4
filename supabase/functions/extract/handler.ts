/**
 * extract (v2): reads what the person wrote and turns it into facts with provenance.
 *
 * It reads raw_conversations, not chunks: chunks cut messages at 5,000 characters and repeat
 * overlap sentences, while the stored conversation has every message whole with its role, so
 * the request can carry each user message exactly once (extraction-input.ts: duplicates once,
 * pasted material as stubs, assistant turns only as short context before a short reply).
 *
 * The start task fans out one task per CONVERSATIONS_PER_TASK conversations (like chunk). Each
 * task reads a message the person repeated only where its text is claimed for the job: before
 * calling the model it claims the first occurrence of each distinct text it holds (a hash of
 * the trimmed text; private.extract_first_messages), and skips every message whose text is
 * claimed at another place. The work grows with the export, spread over the tasks, and a retried
 * task or a continuation finds the same claims. A task reads its range from where it starts in
 * steps sized by what its reading so far turned into request text, until its request is full
 * (extraction-input.ts `RangeReading`, which `extractionPlan` also uses to count a job's
 * requests), and sends one request of at most MAX_REQUEST_CHARS; when the rest of the range
 * holds more, it enqueues a continuation task that starts where the request stopped, so nothing is dropped and
 * each invocation's work stays bounded whatever the range holds. Facts are attributed to the
 * conversation whose sent text shares the most words with them, stored on its first chunk. A
 * request whose reply stays unusable yields no facts and is counted (`failed`); provider errors
 * fail the task so the orchestrator retries it. Each task's result records what was sent and
 * cut (ops.extraction_input).
 */
import { llmCost } from "../../../shared/adapters/llm/cost.ts";
import { completeJson } from "../../../shared/adapters/llm/structured.ts";
import type { LlmProvider, LlmResult } from "../../../shared/adapters/llm/types.ts";
import type { StageFactory } from "../../../shared/adapters/stage-runtime.ts";
import { createStoreStageHandler, type TwoPhaseStoreStage } from "../../../shared/adapters/store-stage.ts";
import type { PipelineStore } from "../../../shared/adapters/store/mod.ts";
import { normalizeError, PipelineError } from "../../../shared/processors/errors.ts";
import {
  attributeFacts,
  continuation,
  CONVERSATIONS_PER_TASK,
  type Cursor,
  firstPersonMessages,
  type InputStats,
  RangeReading,
  skipUnlessKept,
  type SourceConversation,
} from "../../../shared/processors/extraction-input.ts";
import { factsPrompt } from "../../../shared/processors/prompts.ts";
import { type FactSet, FactsSchema } from "../../../shared/processors/schemas.ts";
import { z } from "zod";
import { createHash } from "node:crypto";

const Payload = z.object({
  after: z.string().nullable(),
  upto: z.string().nullable(),
  /**
   * Message indexes (by conversation id) to leave out: written by start tasks planned before
   * tasks claimed their messages; absent, the task claims them (skipRepeats).
   */
  skip: z.record(z.string(), z.array(z.number().int())).optional(),
  /** Where this task's request starts (continuations). */
  from: z.object({
    conversation: z.string(),
    message: z.number().int(),
    offset: z.number().int(),
    block: z.number().int().optional(),
  }).optional(),
  /** Continuation number within the range. */
  part: z.number().int().optional(),
});

/** The batch task's payload, as the start task (or the previous part) wrote it. */
function payload(raw: Record<string, unknown>): z.infer<typeof Payload> {
  const p = Payload.safeParse(raw);
  if (!p.success) throw new PipelineError("INTERNAL", `extract task payload is malformed: ${p.error.message}`);
  return p.data;
}

interface Prepared {
  facts: [string, FactSet][];
  dates: Record<string, string | null>;
  results: LlmResult[];
  failed: boolean;
  input: InputStats | null;
  requestChars: number;
  next: Cursor | null;
}

/**
 * A uuid made of the first 16 bytes of the SHA-256 of `text`: the key a text is claimed by.
 * node:crypto's hash is synchronous, about 1 us a message (WebCrypto's digest took ~90 us each
 * through its promises: 15 s of CPU over a 1 GB import's million messages).
 */
function textHash(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The skip list of `convs`: claims for the job the first occurrence here of each text the person
 * wrote (unless claimed already, by this task earlier or by another) and leaves out every
 * message whose text is claimed elsewhere.
 */
async function skipRepeats(store: PipelineStore, jobId: string, convs: SourceConversation[]) {
  const firsts = firstPersonMessages(convs);
  const texts = [...firsts.keys()];
  const hashes = texts.map(textHash);
  const claimed = await store.conversations.claimFirstMessages(
    jobId,
    texts.map((t, i) => ({ hash: hashes[i]!, ...firsts.get(t)! })),
  );
  const kept = new Map(texts.flatMap((t, i) => {
    const at = claimed.get(hashes[i]!);
    return at ? [[t, at] as const] : [];
  }));
  return skipUnlessKept(convs, kept, firsts);
}

export const extractStage = (llm: LlmProvider): TwoPhaseStoreStage<Prepared | null> => ({
  stages: ["extract"],
  async prepare(task, { store }) {
    if (task.task_key === "extract:start") return null;
    const p = payload(task.payload);
    // Steps of the range until the request is full (extraction-input.ts `RangeReading`). Each step's
    // repeats are claimed by themselves: a claim is job-wide, so a text of an earlier step comes
    // back claimed there.
    const skip: Record<string, number[]> = { ...p.skip };
    const reading = new RangeReading(p.from ?? null);
    for (let s = reading.step(); s; s = reading.step()) {
      const step = await store.conversations.forExtraction(task.job_id, { ...p, ...s });
      if (!p.skip) Object.assign(skip, await skipRepeats(store, task.job_id, step.conversations));
      reading.add(step, skip);
    }
    const { convs, batch } = reading;
    const next = continuation(batch, reading.more);
    const none = { facts: [], dates: {}, results: [], failed: false, requestChars: 0 };
    if (!batch) return { ...none, input: null, next };
    if (!batch.text) return { ...none, input: batch.stats, next }; // all cut: nothing to ask
    const req = {
      ...factsPrompt(batch.text),
      deadline: Date.now() + 90_000,
      tag: { stage: "extract", jobId: task.job_id },
    };
    const requestChars = req.system.length + req.messages.reduce((n, m) => n + m.content.length, 0);
    const dates = Object.fromEntries(convs.map((c) => [c.id, c.date]));
    try {
      const res = await completeJson(llm, req, FactsSchema);
      const facts = [...attributeFacts(res.value!, batch.userText)];
      return { facts, dates, results: [res], failed: false, input: batch.stats, requestChars, next };
    } catch (err) {
      if (normalizeError(err).code !== "LLM_OUTPUT_INVALID") throw err;
      return { ...none, failed: true, input: batch.stats, requestChars, next };
    }
  },
  async process(task, store, pre) {
    if (pre === null) {
      const ranges = await store.conversations.ranges(task.job_id, CONVERSATIONS_PER_TASK);
      return {
        newTasks: ranges.map((r, i) => ({ task_key: `extract:batch:${i}`, payload: { ...r } })),
        result: { ranges: ranges.length },
      };
    }
    const p = payload(task.payload);
    const { facts, dates, results, failed, input, requestChars, next } = pre;
    const chunkOf = await store.chunks.firstChunks(task.job_id, facts.map(([id]) => id));
    const out = facts.flatMap(([id, f]) =>
      chunkOf.has(id) ? [{ chunk_id: chunkOf.get(id)!, conversation_id: id, date: dates[id] ?? null, facts: f }] : []
    );
    const n = await store.facts.replace(await store.jobs.info(task.job_id), task.task_key, out);
    // Continuations: the next request of this range, keyed by the range's task and a part number.
    const base = task.task_key.replace(/:part:\d+$/, "");
    const part = (p.part ?? 0) + 1;
    return {
      newTasks: next ? [{ task_key: `${base}:part:${part}`, payload: { ...p, from: next, part } }] : [],
      counters: { fact_count: n, cost: llmCost(results) },
      result: {
        requests: requestChars ? 1 : 0,
        failed,
        facts: n,
        unattributed_conversations: facts.length - out.length,
        request_chars: requestChars,
        ...(input ? { input } : {}),
      },
    };
  },
});

export const extract: StageFactory = (rt) => createStoreStageHandler(extractStage(rt.llm), rt.openStore);
