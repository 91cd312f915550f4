/**
 * The model calls an import needs, worked out from the export itself with the stages' own
 * processors (not from the calls a run happened to make), and the least time they can take
 * under a concurrency cap and the provider's per-minute limits. bench:pipeline judges the
 * pipeline's model-call phase against this bound.
 *
 * Calls, in stage order:
 * - quick_pass: 1 (sections from the sample of every conversation, as at its turn);
 * - extract: one per request of {@link extractionPlan} (every user message, packed by the tasks' rules);
 * - consolidate: reduce calls of the first round, only when the deduplicated facts are over the
 *   budget (one per `batchItems` facts of a category). Later rounds depend on what the model
 *   answered, so they are not counted as needed;
 * - memory: 1 (the consolidated facts);
 * - regenerate: 1 (sections from the larger sample, with MEMORY).
 * Facts and MEMORY are answers of earlier calls, so the caller passes them in when known (the
 * sizes of the last calls depend on them; their number does not).
 */
import { dedupe, factTokens, truncateFacts } from "./consolidate.ts";
import { extractionPlan, type SourceConversation } from "./extraction-input.ts";
import type { LlmRequest } from "./llm-request.ts";
import { estimateTokens } from "./pricing.ts";
import { factsPrompt, memoryPrompt, reducePrompt, sectionsPrompt } from "./prompts.ts";
import {
  type ConversationStats,
  messageFigures,
  QUICK_PASS_BUDGET,
  REGENERATE_BUDGET,
  type RenderMessage,
  type SampleBudget,
  sectionsData,
  selectSample,
} from "./sample.ts";
import type { FactSet } from "./schemas.ts";

/** A conversation as ingest stores it (canonical roles and whole texts). */
export interface StoredInput {
  id: string;
  title: string;
  /** ISO-8601 UTC. */
  created_at: string;
  messages: RenderMessage[];
}

export type CallStage = "quick_pass" | "extract" | "consolidate" | "memory" | "regenerate";

export interface NeededCall {
  stage: CallStage;
  /** Input tokens as the rate limiter estimates them (characters / 4, rounded up). */
  inputTokens: number;
  /** The request's output reservation (max_tokens), which the limiter also charges. */
  maxTokens: number;
}

export interface NeededOptions {
  /** Deduplicated facts must fit this many tokens, else consolidate reduces them (its FACT_BUDGET_TOKENS). */
  factBudgetTokens: number;
  /** The job's extracted facts per chunk, with dates (as consolidate reads them). @default none */
  facts?: { facts: FactSet; date: string | null }[];
  /** The MEMORY regenerate is given. @default none */
  memoryMd?: string | null;
  /** Facts of one category per reduce call (consolidate-reduce.ts). @default 400 */
  reduceBatchItems?: number;
}

const ALL_CATS = ["preferences", "projects", "dates", "beliefs", "decisions"] as const;
const empty = (): FactSet => ({ preferences: [], projects: [], dates: [], beliefs: [], decisions: [] });

/** A request as the limiter sees it. */
function call(stage: CallStage, r: LlmRequest): NeededCall {
  const chars = r.system.length + r.messages.reduce((n, m) => n + m.content.length, 0);
  return { stage, inputTokens: estimateTokens(chars), maxTokens: r.maxTokens ?? 2048 };
}

/** The sampling figures ingest stores with a conversation. */
export function conversationStats(c: StoredInput): ConversationStats {
  return { conversation_id: c.id, title: c.title, created_at: c.created_at, ...messageFigures(c.messages) };
}

/** What extract reads of a stored conversation: the person's texts whole, the last 400 characters (code points, as SQL's `right`) of others. */
export function extractionSource(c: StoredInput): SourceConversation {
  return {
    id: c.id,
    title: c.title,
    date: c.created_at,
    messages: c.messages.map((m) => ({
      role: m.role,
      text: m.role === "user" || m.role === "system" ? m.content : [...m.content].slice(-400).join(""),
      chars: [...m.content].length,
    })),
  };
}

function sectionsCall(
  stage: CallStage,
  convs: StoredInput[],
  budget: SampleBudget,
  memoryMd: string | null,
): NeededCall {
  const byId = new Map(convs.map((c) => [c.id, c]));
  const chosen = selectSample(convs.map(conversationStats), budget).map((s) => byId.get(s.conversation_id)!);
  return call(stage, sectionsPrompt(sectionsData(chosen, budget, memoryMd), memoryMd ?? undefined));
}

/** The model calls an import of `convs` needs, in stage order (see the module comment). */
export function neededModelCalls(convs: StoredInput[], o: NeededOptions): NeededCall[] {
  const calls: NeededCall[] = [sectionsCall("quick_pass", convs, QUICK_PASS_BUDGET, null)];
  // The stored figure exactly as ingest computes it (UTF-16 lengths; `chars` counts code points).
  const figures = new Map(convs.map((c) => [c.id, messageFigures(c.messages)]));
  for (const b of extractionPlan(convs.map(extractionSource), (c) => figures.get(c.id)!).requests) {
    calls.push(call("extract", factsPrompt(b.text)));
  }
  const { facts } = dedupe(o.facts ?? []);
  const over = factTokens(facts) > o.factBudgetTokens;
  if (over) {
    const per = o.reduceBatchItems ?? 400;
    for (const cat of ALL_CATS) {
      const items = facts[cat] as unknown[];
      for (let i = 0; i < items.length; i += per) {
        const batch = { ...empty(), [cat]: items.slice(i, i + per) } as FactSet;
        calls.push(call("consolidate", reducePrompt(JSON.stringify(batch))));
      }
    }
  }
  // MEMORY is written from facts within the budget (reduced, or cut by the fallback).
  const kept = over ? truncateFacts(facts, o.factBudgetTokens) : facts;
  calls.push(call("memory", memoryPrompt(JSON.stringify(kept, null, 2))));
  calls.push(sectionsCall("regenerate", convs, REGENERATE_BUDGET, o.memoryMd ?? null));
  return calls;
}

export interface CallLimits {
  /** Model latency per call, in ms. */
  latencyMs: number;
  /** Model calls in flight at once (the extract stage's per-job cap). */
  concurrency: number;
  /** Requests per minute. */
  rpm: number;
  /** Input tokens per minute. */
  tpm: number;
}

/**
 * Least time `calls` can take: the largest of their latency spread over the concurrency, their
 * count at `rpm` and their input tokens at `tpm`.
 */
export function idealSeconds(calls: NeededCall[], l: CallLimits): number {
  const tokens = calls.reduce((n, c) => n + c.inputTokens, 0);
  return Math.max(
    (calls.length * l.latencyMs) / 1000 / l.concurrency,
    (calls.length / l.rpm) * 60,
    (tokens / l.tpm) * 60,
  );
}
