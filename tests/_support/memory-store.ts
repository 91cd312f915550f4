/**
 * An in-memory PipelineStore for fast stage tests: the same ports as shared/adapters/store with
 * the same semantics (natural-key upserts, artifact overwrite, one first-generation claim per
 * person, the generation swap), held in plain maps. tests/adapters/store_contract.test.ts runs the
 * same assertions on it and on the Postgres store, so the two cannot drift apart.
 */
import { type ConversationStats, messageFigures, score } from "../../shared/processors/sample.ts";
import { readWindow } from "../../shared/processors/extraction-input.ts";
import { extractionSource } from "../../shared/processors/model-calls.ts";
import type { PipelineStore } from "../../shared/adapters/store/mod.ts";
import { type ArtifactName, artifactStore } from "../../shared/adapters/store/artifacts.ts";
import type { ConversationChunks } from "../../shared/adapters/store/chunks.ts";
import { type KeyRange, rangesFromBounds } from "../../shared/adapters/store/conversations.ts";
import { factRows, groupFacts } from "../../shared/adapters/store/facts.ts";
import type { ProfileFields } from "../../shared/adapters/store/generations.ts";
import type { JobInfo, JobTotals } from "../../shared/adapters/store/jobs.ts";
import { type CompletionPayload, completionPayload } from "../../shared/adapters/store/notifications.ts";
import type { ClaimedTask } from "../../shared/adapters/tasks.ts";
import { PipelineError } from "../../shared/processors/errors.ts";
import type { CanonicalConversation, CanonicalMessage } from "../../shared/processors/ingest/types.ts";

interface ConversationRow {
  user_id: string;
  job_id: string;
  conversation_id: string;
  title: string;
  created_at: string;
  messages: CanonicalMessage[];
}

interface ChunkRow {
  id: string;
  user_id: string;
  job_id: string;
  conversation_id: string;
  chunk_index: number;
  title: string;
  content: string;
  token_count: number;
  message_count: number;
  created_at: string;
  is_recent: boolean;
  embedding: number[] | null;
  embedding_model: string | null;
  embeddable: boolean;
}

interface FactRow {
  id: number;
  user_id: string;
  job_id: string;
  chunk_id: string;
  conversation_id: string;
  date: string | null;
  category: string;
  fact: unknown;
  source: string;
}

/** What a JSON column gives back: Dates become ISO strings, undefined fields vanish. */
const asJson = <T>(v: T): unknown => JSON.parse(JSON.stringify(v));
/** Runs `f` as an async store call does: a throw becomes a rejected promise. */
const later = <T>(f: () => T): Promise<T> => Promise.resolve().then(f);
/** Length in characters (code points), as Postgres counts. */
const chars = (s: string) => [...s].length;
const emptyTotals = (): JobTotals => ({
  conversation_count: 0,
  message_count: 0,
  chunk_count: 0,
  embedding_count: 0,
  fact_count: 0,
  cost_usd: 0,
  cost: {},
});

export class MemoryStore {
  readonly jobs = new Map<string, JobInfo & { totals: JobTotals }>();
  conversations: ConversationRow[] = [];
  chunks: ChunkRow[] = [];
  facts: FactRow[] = [];
  readonly artifacts = new Map<string, { job_id: string; name: ArtifactName; content: unknown }>();
  readonly profiles = new Map<string, ProfileFields>();
  readonly skippedNotifications = new Set<string>();
  readonly deliveries = new Map<string, CompletionPayload>();
  /** Per job: a claimed message text (hash) -> where it is read (claimFirstMessages). */
  readonly firstMessages = new Map<string, Map<string, { conversation: string; index: number }>>();
  private factSeq = 0;

  /**
   * `dimension`: the schema's vector dimension this store reports; `exactSearchMaxChunks`: the size
   * above which a job gets its own vector index (private.exact_search_max_chunks()).
   */
  constructor(readonly dimension = 768, readonly exactSearchMaxChunks = 15000) {}

  /** Adds a job (as an upload's insert would), with zero totals unless given. */
  addJob(userId: string, o: Partial<JobInfo> & { totals?: Partial<JobTotals> } = {}): JobInfo {
    const job: JobInfo = {
      id: o.id ?? crypto.randomUUID(),
      user_id: userId,
      pipeline_version: o.pipeline_version ?? "v2",
      storage_path: o.storage_path ?? `imports/${userId}/export.json`,
      created_at: o.created_at ?? new Date().toISOString(),
    };
    this.jobs.set(job.id, { ...job, totals: { ...emptyTotals(), ...o.totals } });
    return job;
  }

  /** Stores conversations as ingest does (one row per job and conversation id, the last one winning). */
  addConversations(job: Pick<JobInfo, "id" | "user_id">, convs: CanonicalConversation[]): void {
    for (const c of convs) {
      // As the table's check: ingest never stores a conversation without messages.
      if (c.messages.length === 0) throw new Error(`conversation ${c.id} has no messages`);
      this.conversations = this.conversations.filter((r) => !(r.job_id === job.id && r.conversation_id === c.id));
      this.conversations.push({
        user_id: job.user_id,
        job_id: job.id,
        conversation_id: c.id,
        title: c.title,
        created_at: new Date(c.created_at).toISOString(),
        messages: c.messages.map((m) => ({ ...m })),
      });
    }
  }

  /** A task as the orchestrator would hand it to a stage (lease and attempt counts included). */
  task(
    jobId: string,
    stage: string,
    taskKey: string,
    payload: Record<string, unknown> = {},
    attempts = 1,
  ): ClaimedTask {
    return {
      id: 1,
      job_id: jobId,
      stage,
      task_key: taskKey,
      payload: structuredClone(payload),
      attempts,
      max_attempts: 5,
      lease_token: crypto.randomUUID(),
    };
  }

  private job(jobId: string) {
    const j = this.jobs.get(jobId);
    if (!j) throw new PipelineError("NOT_FOUND", `job ${jobId} not found`);
    return j;
  }

  /** Each of the job's conversations with its sampling figures, as raw_conversations stores them. */
  private statsOf(jobId: string): ConversationStats[] {
    return this.jobConversations(jobId).map((r) => ({
      conversation_id: r.conversation_id,
      title: r.title,
      created_at: r.created_at,
      ...messageFigures(r.messages),
    }));
  }

  private jobConversations(jobId: string, range: KeyRange = { after: null, upto: null }) {
    return this.conversations
      .filter((r) =>
        r.job_id === jobId && (range.after === null || r.conversation_id > range.after) &&
        (range.upto === null || r.conversation_id <= range.upto)
      )
      .sort((a, b) => (a.conversation_id < b.conversation_id ? -1 : a.conversation_id > b.conversation_id ? 1 : 0));
  }

  private stored(r: ConversationRow) {
    return {
      conversation_id: r.conversation_id,
      title: r.title,
      created_at: r.created_at,
      messages: r.messages.map((m) => ({ role: m.role, content: m.content })),
    };
  }

  /** Ranges as the Postgres store cuts them: by count and by the characters before each row. */
  private static ranges(sorted: { id: string; chars: number }[], per: number, maxChars = Infinity): KeyRange[] {
    let before = 0;
    const place = sorted.map((r, i) => {
      const p = `${Math.floor(i / per)}:${Math.floor(before / maxChars)}`;
      before += r.chars;
      return p;
    });
    return rangesFromBounds(
      sorted.filter((_, i) => i + 1 < sorted.length && place[i] !== place[i + 1]).map((r) => r.id),
    );
  }

  private writeProfile(userId: string, fields: ProfileFields) {
    this.profiles.set(userId, { ...this.profiles.get(userId), user_id: userId, ...fields, updated_at: new Date() });
  }

  readonly store: PipelineStore = {
    jobs: {
      info: (jobId) =>
        later(() => {
          const { totals: _, ...info } = this.job(jobId);
          return info;
        }),
      totals: (jobId) => later(() => structuredClone(this.job(jobId).totals)),
    },
    conversations: {
      // Jobs here are past ingest: the quick pass's early window is exercised on Postgres (e2e).
      window: () => Promise.resolve(null),
      sampleCandidates: (jobId, limit) => {
        const all = this.statsOf(jobId);
        const eligible = all.filter((c) => c.message_count >= 4)
          .sort((a, b) => score(b) - score(a) || (a.conversation_id < b.conversation_id ? -1 : 1));
        return Promise.resolve(eligible.length ? eligible.slice(0, limit) : all.slice(0, 50));
      },
      stats: (jobId) => Promise.resolve(this.statsOf(jobId)),
      load: (jobId, ids) => {
        const byId = new Map(this.jobConversations(jobId).map((r) => [r.conversation_id, r]));
        return Promise.resolve(ids.flatMap((id) => {
          const r = byId.get(id);
          return r ? [this.stored(r)] : [];
        }));
      },
      ranges: (jobId, per, maxChars) =>
        Promise.resolve(MemoryStore.ranges(
          this.jobConversations(jobId).map((r) => ({
            id: r.conversation_id,
            chars: messageFigures(r.messages).total_chars,
          })),
          per,
          maxChars,
        )),
      inRange: (jobId, range, maxChars = Infinity) =>
        Promise.resolve(
          this.jobConversations(jobId, range).filter((r) => messageFigures(r.messages).total_chars <= maxChars)
            .map((r) => this.stored(r)),
        ),
      larger: (jobId, chars) =>
        Promise.resolve(
          this.jobConversations(jobId).map((r) => ({
            conversation_id: r.conversation_id,
            total_chars: messageFigures(r.messages).total_chars,
          })).filter((r) => r.total_chars > chars),
        ),
      forExtraction: (jobId, range) => {
        const { read, more } = readWindow(
          this.jobConversations(jobId, range).filter((r) => range.from === null || r.conversation_id >= range.from),
          (r) => messageFigures(r.messages),
          range.budget,
          range.maxChars,
        );
        return Promise.resolve({
          chars: read.reduce((n, r) => n + messageFigures(r.messages).total_chars, 0),
          conversations: read.filter((r) => r.messages.length > 0).map((r) =>
            extractionSource({ id: r.conversation_id, title: r.title, created_at: r.created_at, messages: r.messages })
          ),
          more: more?.conversation_id ?? null,
        });
      },
      claimFirstMessages: (jobId, candidates) => {
        const claims = this.firstMessages.get(jobId) ?? new Map<string, { conversation: string; index: number }>();
        this.firstMessages.set(jobId, claims);
        for (const c of candidates) {
          if (!claims.has(c.hash)) claims.set(c.hash, { conversation: c.conversation, index: c.index });
        }
        return Promise.resolve(new Map(candidates.map((c) => [c.hash, claims.get(c.hash)!])));
      },
    },
    chunks: {
      write: (job, batch: ConversationChunks[]) => {
        const current = this.profiles.get(job.user_id)?.generation_id ?? null;
        for (const { conversation: c, chunks, isRecent, count } of batch) {
          for (const k of chunks) {
            const fields = {
              title: c.title,
              content: k.content,
              token_count: k.token_count,
              message_count: k.message_count,
              created_at: new Date(c.created_at).toISOString(),
              is_recent: isRecent,
              embeddable: chars(k.content.replace(/^ +| +$/g, "")) >= 3,
            };
            const same = (r: ChunkRow) => r.conversation_id === c.conversation_id && r.chunk_index === k.chunk_index;
            const mine = this.chunks.find((r) => r.job_id === job.id && same(r));
            if (mine) {
              // A retried batch keeps its own embedding while the text is unchanged.
              const keep = mine.content === k.content;
              Object.assign(mine, fields, {
                embedding: keep ? mine.embedding : null,
                embedding_model: keep ? mine.embedding_model : null,
              });
              continue;
            }
            // Unchanged text from the person's current generation keeps that embedding.
            const carried = this.chunks.find((r) =>
              r.job_id === current && r.job_id !== job.id && same(r) && r.content === k.content
            );
            this.chunks.push({
              id: crypto.randomUUID(),
              user_id: job.user_id,
              job_id: job.id,
              conversation_id: c.conversation_id,
              chunk_index: k.chunk_index,
              ...fields,
              embedding: carried?.embedding ?? null,
              embedding_model: carried?.embedding_model ?? null,
            });
          }
          this.chunks = this.chunks.filter((r) =>
            !(r.job_id === job.id && r.conversation_id === c.conversation_id &&
              r.chunk_index >= (count ?? chunks.length))
          );
        }
        return Promise.resolve();
      },
      ranges: (jobId, per) =>
        Promise.resolve(
          MemoryStore.ranges(
            this.chunks.filter((r) => r.job_id === jobId).map((r) => r.id).sort().map((id) => ({ id, chars: 0 })),
            per,
          ),
        ),
      inRange: (jobId, { after, upto }, onlyUnembedded) =>
        Promise.resolve(
          this.chunks
            .filter((r) =>
              r.job_id === jobId && (after === null || r.id > after) && (upto === null || r.id <= upto) &&
              (!onlyUnembedded || (r.embedding === null && r.embeddable))
            )
            .sort((a, b) => (a.id < b.id ? -1 : 1))
            .map((r) => ({
              id: r.id,
              conversation_id: r.conversation_id,
              content: r.content,
              created_at: r.created_at,
            })),
        ),
      firstChunks: (jobId, ids) => {
        const out = new Map<string, string>();
        for (const id of ids) {
          const first = this.chunks.filter((r) => r.job_id === jobId && r.conversation_id === id)
            .sort((a, b) => a.chunk_index - b.chunk_index)[0];
          if (first) out.set(id, first.id);
        }
        return Promise.resolve(out);
      },
      embeddingDimension: () => Promise.resolve(this.dimension),
      storeEmbeddings: (model, rows) =>
        later(() => {
          const found = rows.map((x) => this.chunks.find((r) => r.id === x.id));
          const n = found.filter(Boolean).length;
          // Nothing is kept when a chunk is missing, as the failed transaction keeps nothing.
          if (n !== rows.length) throw new PipelineError("INTERNAL", `stored ${n} of ${rows.length} embeddings`);
          found.forEach((r, i) => Object.assign(r!, { embedding: [...rows[i]!.vector], embedding_model: model }));
        }),
      // The index itself lives in Postgres (search is tested there); here, which jobs would get one.
      buildVectorIndex: (jobId, _timeoutMs) => {
        const vectors = this.chunks.filter((r) => r.job_id === jobId && r.embedding).length;
        return Promise.resolve({ built: vectors > this.exactSearchMaxChunks, vectors, build_ms: 0 });
      },
    },
    facts: {
      replace: (job, source, perChunk) => {
        this.facts = this.facts.filter((f) => !(f.job_id === job.id && f.source === source));
        const rows = factRows(perChunk);
        for (const r of rows) {
          this.facts.push({
            ...r,
            id: ++this.factSeq,
            user_id: job.user_id,
            job_id: job.id,
            fact: asJson(r.fact),
            source,
          });
        }
        return Promise.resolve(rows.length);
      },
      forJob: (jobId) =>
        later(() =>
          groupFacts(
            this.facts.filter((f) => f.job_id === jobId).map((f) => ({
              chunk_id: f.chunk_id,
              date: f.date === null ? null : new Date(f.date).toISOString(),
              category: f.category,
              fact: f.fact,
            })),
          )
        ),
    },
    artifacts: artifactStore(
      (jobId, name, content) => {
        this.artifacts.set(`${jobId}/${name}`, { job_id: jobId, name, content: asJson(content) });
        return Promise.resolve();
      },
      (jobId, name) => Promise.resolve(this.artifacts.get(`${jobId}/${name}`)?.content ?? null),
    ),
    generations: {
      writeProfile: (userId, fields) => Promise.resolve(this.writeProfile(userId, fields)),
      claimFirst: (job) => {
        const p = this.profiles.get(job.user_id);
        if (p?.generation_id === undefined || p.generation_id === null) {
          this.writeProfile(job.user_id, { generation_id: job.id });
        }
        return Promise.resolve(this.profiles.get(job.user_id)?.generation_id === job.id);
      },
      swap: (job, fields) => {
        this.writeProfile(job.user_id, { ...fields, generation_id: job.id });
        const older = (r: { user_id: string; job_id: string }) => r.user_id === job.user_id && r.job_id !== job.id;
        const counts = {
          facts: this.facts.filter(older).length,
          chunks: this.chunks.filter(older).length,
          conversations: this.conversations.filter(older).length,
        };
        this.facts = this.facts.filter((r) => !older(r));
        this.chunks = this.chunks.filter((r) => !older(r));
        this.conversations = this.conversations.filter((r) => !older(r));
        for (const [key, a] of this.artifacts) {
          if (a.job_id !== job.id && this.jobs.get(a.job_id)?.user_id === job.user_id) this.artifacts.delete(key);
        }
        return Promise.resolve(counts);
      },
    },
    notifications: {
      enqueueCompletion: (job, totals, webhookConfigured) => {
        if (!webhookConfigured) {
          this.skippedNotifications.add(job.id);
          return Promise.resolve("skipped");
        }
        if (!this.deliveries.has(job.id)) this.deliveries.set(job.id, completionPayload(job, totals));
        return Promise.resolve("queued");
      },
    },
  };
}
