/**
 * The offline analyser: extractive, deterministic, no network. It reads only what the person
 * said (`User:` lines of the fenced conversation data), keeps first-person statements, skips
 * questions and hypotheticals, and turns them into facts about the user. Everything it makes
 * is labelled as offline analysis by the provider that wraps it.
 */
import nlp from "compromise";
import type { FactSet } from "./schemas.ts";

export interface Statement {
  text: string;
  /** YYYY-MM-DD of the conversation, or null. */
  date: string | null;
}

export interface Facts {
  preferences: string[];
  projects: { name: string; description: string; details: string }[];
  dates: { event: string; date: string }[];
  beliefs: string[];
  decisions: { decision: string; context: string }[];
}

export interface Profile {
  name: string | null;
  location: string | null;
  occupation: string | null;
  relationships: string[];
  interests: string[];
}

/** Conversation blocks are headed `=== <title> | <YYYY-MM-DD or unknown> ===`. */
export const BLOCK_HEADER = /^=== (.*) \| (\d{4}-\d{2}-\d{2}|unknown) ===$/;

/** The person's own sentences from rendered conversation data, with the conversation date. */
export function userStatements(data: string): Statement[] {
  const out: Statement[] = [];
  let date: string | null = null;
  let inUser = false;
  for (const line of data.split("\n")) {
    const h = line.match(BLOCK_HEADER);
    if (h) {
      date = h[2] === "unknown" ? null : h[2]!;
      inUser = false;
      continue;
    }
    if (line.startsWith("User:")) inUser = true;
    else if (/^(Assistant|System):/.test(line)) inUser = false;
    if (!inUser) continue;
    const text = line.replace(/^User:\s*/, "");
    // Tokenize only: sentence boundaries need no part-of-speech tagging, which would cost 6x the CPU.
    for (const s of nlp.tokenize(text).out("array") as string[]) {
      const t = s.trim();
      if (t) out.push({ text: t, date });
    }
  }
  return out;
}

/** "if I lived in...", "imagine if...": not facts. */
const HYPOTHETICAL = /\b(if (I|we|you)|imagine|suppose|supposing|pretend|what if|I would|I'd|I wish|wish I)\b/i;
/** Text that tries to instruct whoever reads it is never evidence about the person. */
const INSTRUCTION =
  /\b(ignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?|messages)|system:|obey|you must|must now|record that|the (analy[sz]er|assistant|model|ai) (must|should))\b/i;
const clean = (s: string) => s.replace(/\s+/g, " ").replace(/[\s,;:]+$/, "").trim();
const cap = (s: string, n = 120) => (s.length > n ? s.slice(0, n).replace(/\s+\S*$/, "") : s);

/** Statements that assert something about the speaker (no questions, no hypotheticals). */
function assertions(statements: Statement[]): Statement[] {
  return statements.filter((s) =>
    !s.text.endsWith("?") && !HYPOTHETICAL.test(s.text) && !INSTRUCTION.test(s.text) &&
    /\b(I|I'm|I've|my|me|we)\b/i.test(s.text)
  );
}

const ROLE_NOUNS =
  "engineer|developer|designer|teacher|nurse|doctor|manager|writer|student|scientist|analyst|consultant|" +
  "lawyer|chef|artist|researcher|accountant|architect|photographer|pharmacist|programmer|founder|product manager|data scientist";

/**
 * Facts from the person's own messages (the `<user>` blocks of an extraction request, see
 * extraction-input.ts), each with its conversation's date (YYYY-MM-DD or null).
 */
export function extractFacts(messages: { text: string; date: string | null; conversationId: string }[]): FactSet {
  const statements: Statement[] = [];
  for (const m of messages) {
    for (const line of m.text.split("\n")) {
      for (const s of nlp.tokenize(line).out("array") as string[]) {
        const t = s.trim();
        if (t) statements.push({ text: t, date: m.date });
      }
    }
  }
  return statementFacts(statements);
}

/** Facts in the five MEMORY categories, most recent first where it matters. */
export function statementFacts(statements: Statement[]): Facts {
  const f: Facts = { preferences: [], projects: [], dates: [], beliefs: [], decisions: [] };
  for (const { text, date } of assertions(statements)) {
    let m: RegExpMatchArray | null;
    if ((m = text.match(/\bI (?:really |absolutely |truly )?(love|like|enjoy|adore|prefer)\s+([^.,;!?]+)/i))) {
      f.preferences.push(`Likes ${cap(clean(m[2]!))}`);
    }
    if (
      (m = text.match(
        /\bI (?:really )?(?:hate|dislike|can't stand|cannot stand|don't like|do not like)\s+([^.,;!?]+)/i,
      ))
    ) {
      f.preferences.push(`Dislikes ${cap(clean(m[1]!))}`);
    }
    if ((m = text.match(/\bI (?:don't|do not|never) eat\s+([^.,;!?]+)/i))) {
      f.preferences.push(`Does not eat ${cap(clean(m[1]!))}`);
    }
    if (
      (m = text.match(/\bI(?:'m| am) (?:currently )?(?:working on|building|writing|developing|making)\s+([^.,;!?]+)/i))
    ) {
      const name = cap(clean(m[1]!), 80);
      f.projects.push({ name, description: cap(clean(text), 200), details: date ? `mentioned ${date}` : "" });
    }
    if ((m = text.match(/\bmy (birthday|anniversary|wedding|graduation)\s+is\s+(?:on\s+)?([^.,;!?]+)/i))) {
      f.dates.push({ event: `${m[1]!.toLowerCase()}`, date: clean(m[2]!) });
    }
    if ((m = text.match(/\bI (?:strongly |firmly |really )?believe (?:that )?([^.!?]+)/i))) {
      f.beliefs.push(cap(clean(m[1]!), 200));
    } else if ((m = text.match(/\bI value\s+([^.,;!?]+)/i))) f.beliefs.push(`Values ${cap(clean(m[1]!))}`);
    if ((m = text.match(/\bI(?:'ve| have)? (?:finally )?decided (?:to |that )?([^.!?]+)/i))) {
      f.decisions.push({ decision: cap(clean(m[1]!), 200), context: date ? `decided around ${date}` : "" });
    }
  }
  return dedupeFacts(f);
}

/** Deduplicates facts by normalised text (first seen wins). */
export function dedupeFacts(f: Facts): Facts {
  const key = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
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

/** Who the person is: the latest value wins for things that change (city, job). */
export function extractProfile(statements: Statement[]): Profile {
  const p: Profile = { name: null, location: null, occupation: null, relationships: [], interests: [] };
  const dated = [...assertions(statements)].sort((a, b) => (a.date ?? "").localeCompare(b.date ?? ""));
  for (const { text } of dated) {
    let m: RegExpMatchArray | null;
    if (
      (m = text.match(/\b[Mm]y name is ([A-Z][\p{L}'-]+(?: [A-Z][\p{L}'-]+)?)/u)) ||
      (m = text.match(/\b[Cc]all me ([A-Z][\p{L}'-]+)/u))
    ) {
      // A fuller form of the same name ("Dana" then "Dana Reyes") refines it rather than replacing it.
      const first = p.name?.split(" ")[0];
      if (!p.name || first !== m[1]!.split(" ")[0] || m[1]!.length > p.name.length) p.name = m[1]!;
    }
    if (
      (m = text.match(
        /\bI (?:live|am living|'m living|'m based|am based) in ([A-Z][\p{L}'-]+(?: [A-Z][\p{L}'-]+)?)/u,
      )) ||
      (m = text.match(/\bI(?:'ve| have)? (?:just |recently )?moved to ([A-Z][\p{L}'-]+(?: [A-Z][\p{L}'-]+)?)/u))
    ) {
      p.location = m[1]!;
    }
    if (
      (m = text.match(new RegExp(`\\bI(?:'m| am) (?:now )?an? ((?:[a-z-]+ )?(?:${ROLE_NOUNS}))\\b`, "i"))) ||
      (m = text.match(/\bI (?:now )?work (?:as an? |at |for )([^.,;!?]+)/i))
    ) {
      p.occupation = cap(clean(m[1]!.split(/\s+(?:after|at|for|in|with|since|because|and|but|now)\b/)[0]!), 80);
    }
    if (
      (m = text.match(
        /\b[Mm]y (wife|husband|partner|girlfriend|boyfriend|son|daughter|sister|brother|mom|mother|dad|father|cat|dog)(?:'s name is |, | is called | named | )([A-Z][\p{L}'-]+)/u,
      )) ||
      (m = text.match(/\b(?:[Ww]e|I) have an? (cat|dog) (?:named|called) ([A-Z][\p{L}'-]+)/u))
    ) {
      p.relationships.push(`${m[1]!.toLowerCase()}: ${m[2]}`);
    }
  }
  p.relationships = [...new Set(p.relationships)];
  p.interests = [
    ...new Set(statementFacts(statements).preferences.filter((x) => x.startsWith("Likes ")).map((x) => x.slice(6))),
  ]
    .slice(0, 10);
  return p;
}

/** MEMORY markdown with the five headings, one fact per bullet, "No data yet." when empty. */
export function memoryMarkdown(f: Facts): string {
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
