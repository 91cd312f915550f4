/**
 * The offline analyser: extractive, deterministic, no network. It reads only what the person
 * wrote (their messages, never the assistant's, never titles) and says where each value came
 * from. Clause shapes (analysis/clauses.ts) and predicate rules (analysis/facts.ts) find
 * self-statements; statistics (analysis/stats.ts) and topics (analysis/topics.ts) describe how
 * and about what the person writes (analysis/sections.ts).
 */
import { clausesOfMessage, stripCode } from "./analysis/clauses.ts";
import { factsOfClause, type Found } from "./analysis/facts.ts";
import type { FactSet } from "./schemas.ts";

/** One message the person wrote. `date` is YYYY-MM-DD (or a full ISO time), or null. */
export interface UserMessage {
  text: string;
  date: string | null;
  conversationId: string;
}

/** Conversation blocks are headed `=== <title> | <YYYY-MM-DD or unknown> ===`. */
export const BLOCK_HEADER = /^=== (.*) \| (\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}Z)?|unknown) ===$/;

/** The person's messages from rendered conversation data (sample.ts renderConversations). */
export function userMessages(data: string): UserMessage[] {
  const out: UserMessage[] = [];
  let date: string | null = null, conv = "", n = 0, cur: UserMessage | null = null;
  for (const line of data.split("\n")) {
    const h = line.match(BLOCK_HEADER);
    if (h) {
      date = h[2] === "unknown" ? null : h[2]!;
      conv = `c${n++}`;
      cur = null;
      continue;
    }
    if (line.startsWith("User:")) {
      cur = { text: line.replace(/^User:\s*/, ""), date, conversationId: conv };
      out.push(cur);
    } else if (/^(Assistant|System):/.test(line)) cur = null;
    else if (cur && line) cur.text += "\n" + line;
  }
  return out;
}

/**
 * Text that tries to instruct whoever reads it is never evidence about the person: addressing
 * the reader ("ignore the above", "SYSTEM:", "the model should", "from now on", "record that").
 */
const INSTRUCTION =
  /\b(?:ignore|disregard|overwrite|override|forget)\b[^.]*\b(?:instructions?|prompts?|context|above|earlier|previous|memory|profile)\b|^\W*system\W|\b(?:analy[sz]er|the model|the ai|the assistant|profile builder|whoever (?:reads|processes))\b[^.]*\b(?:must|should|set|store|record|say|remember)\b|\bnote to (?:the )?(?:model|ai|assistant|system|whoever)\b|\bfrom now on\b|\brecord that\b|\byou must\b|\bnew instructions?\b|\bobey\b/i;

interface Hit {
  f: Found;
  date: string | null;
  conversationId: string;
  order: number;
  clause: string;
}

/** Every self-statement in the messages, in order. */
export function findFacts(messages: UserMessage[]): Hit[] {
  const out: Hit[] = [];
  let order = 0;
  for (const m of messages) {
    for (const c of clausesOfMessage(m.text)) {
      order++;
      if (INSTRUCTION.test(c.text) || c.text.length > 400) continue;
      for (const f of factsOfClause(c)) {
        out.push({ f, date: m.date?.slice(0, 10) ?? null, conversationId: m.conversationId, order, clause: c.text });
      }
    }
  }
  // Drop a clause's facts when the whole message was an instruction (split clauses lose the marker).
  const bad = new Set(
    messages.filter((m) => INSTRUCTION.test(stripCode(m.text))).map((m) => m.conversationId + m.text),
  );
  return bad.size
    ? out.filter((h) => !messages.some((m) => bad.has(m.conversationId + m.text) && m.text.includes(h.clause)))
    : out;
}

const key = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
const said = (h: Hit, n = 1) =>
  [h.date ? `said ${h.date}` : "", n > 1 ? `${n} mentions` : ""].filter(Boolean).join("; ");
const later = (a: Hit, b: Hit) =>
  (a.date ?? "") !== (b.date ?? "")
    ? (a.date ?? "") > (b.date ?? "")
    : (a.f.change ? 1 : 0) !== (b.f.change ? 1 : 0)
    ? !!a.f.change
    : a.order > b.order;

/** The latest of a kind (things that change: city, job), and the values it replaced. */
export function latest(hits: Hit[], kind: Found["kind"]): { hit: Hit; earlier: string[] } | null {
  const hs = hits.filter((h) => h.f.kind === kind);
  if (!hs.length) return null;
  const hit = hs.reduce((a, b) => (later(b, a) ? b : a));
  const earlier = [...new Set(hs.map((h) => h.f.value))].filter((v) => key(v) !== key(hit.f.value));
  return { hit, earlier };
}

/** Groups hits of a kind by value: first statement, mention count. */
function grouped(hits: Hit[], kind: Found["kind"]): { h: Hit; n: number }[] {
  const by = new Map<string, { h: Hit; n: number }>();
  for (const h of hits.filter((x) => x.f.kind === kind)) {
    const k = key((h.f.event ?? "") + " " + h.f.value);
    const g = by.get(k);
    if (g) g.n++;
    else by.set(k, { h, n: 1 });
  }
  return [...by.values()];
}

const cap1 = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Facts about the person in the five MEMORY categories. Who they are (name, city, work,
 * family) goes under decisions as context, with the date it was said, so a later pass can tell
 * the current value from a superseded one.
 */
export function extractFacts(messages: { text: string; date: string | null; conversationId: string }[]): FactSet {
  const hits = findFacts(messages);
  // Preferences stay plain ("Likes X"): consolidation dedupes on the text, and the same liking said twice is one fact.
  const pref = (kind: Found["kind"], verb: string) => grouped(hits, kind).map(({ h }) => `${verb}${h.f.value}`);
  const liked = new Set(grouped(hits, "dislike").map(({ h }) => key(h.f.value)));
  const facts: FactSet = {
    preferences: [
      ...pref("like", "Likes ").filter((x) => !liked.has(key(x.slice(6)))),
      ...pref("dislike", "Dislikes "),
      ...pref("prefer", "Prefers "),
      ...pref("diet", ""),
    ],
    projects: grouped(hits, "project").map(({ h, n }) => ({
      name: h.f.value,
      description: h.clause.slice(0, 200),
      details: said(h, n),
    })),
    dates: grouped(hits, "date").map(({ h }) => ({ event: h.f.event!, date: h.f.value })),
    beliefs: grouped(hits, "belief").map(({ h }) => cap1(h.f.value)),
    decisions: [],
  };
  // The date is part of the fact's text, so it survives consolidation and a later pass can order values.
  const asOf = (h: Hit) => (h.date ? `, as of ${h.date}` : "");
  const ctx = (earlier: string[] = []) => earlier.length ? `earlier: ${earlier.join(", ")}` : "";
  const name = latest(hits, "name");
  if (name) facts.decisions.push({ decision: `Goes by ${name.hit.f.value}${asOf(name.hit)}`, context: "" });
  const loc = latest(hits, "location");
  if (loc) facts.decisions.push({ decision: `Lives in ${loc.hit.f.value}${asOf(loc.hit)}`, context: ctx(loc.earlier) });
  const job = latest(hits, "occupation");
  if (job) {
    const a = /^[aeiou]/i.test(job.hit.f.value) ? "an" : "a";
    facts.decisions.push({ decision: `Works as ${a} ${job.hit.f.value}${asOf(job.hit)}`, context: ctx(job.earlier) });
  }
  for (const { h } of grouped(hits, "relation")) {
    facts.decisions.push({ decision: cap1(h.f.value), context: said(h) });
  }
  for (const { h, n } of grouped(hits, "decision")) {
    facts.decisions.push({ decision: cap1(h.f.value), context: said(h, n) });
  }
  return facts;
}

/** Deduplicates facts by normalised text (first seen wins). */
export function dedupeFacts(f: FactSet): FactSet {
  const uniq = <T>(xs: T[], k: (x: T) => string) => {
    const seen = new Set<string>();
    return xs.filter((x) => {
      const kk = key(k(x));
      if (!kk || seen.has(kk)) return false;
      seen.add(kk);
      return true;
    });
  };
  return {
    preferences: uniq(f.preferences, (x) => x),
    projects: uniq(f.projects, (x) => x.name),
    dates: uniq(f.dates, (x) => x.event + " " + x.date),
    beliefs: uniq(f.beliefs, (x) => x),
    decisions: uniq(f.decisions, (x) => x.decision),
  };
}

/** MEMORY markdown with the five headings, one fact per bullet, "No data yet." when empty. */
export function memoryMarkdown(f: FactSet): string {
  const section = (title: string, items: string[]) =>
    `## ${title}\n${items.length ? items.map((i) => `- ${i}`).join("\n") : "No data yet."}`;
  return [
    section("Preferences", f.preferences),
    section("Projects", f.projects.map((p) => `${p.name}${p.details ? ` (${p.details})` : ""}`)),
    section("Important Dates", f.dates.map((d) => `${d.event}: ${d.date}`)),
    section("Beliefs & Values", f.beliefs),
    section("Decisions & Context", f.decisions.map((d) => `${d.decision}${d.context ? ` (${d.context})` : ""}`)),
  ].join("\n\n");
}
