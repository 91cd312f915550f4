/**
 * The five sections from the person's own messages: SOUL and AGENTS from measured writing
 * statistics (each value carries its numbers), USER from self-statements (and from MEMORY
 * when a later pass has one), interests and TOOLS from ranked topics and named technologies.
 * A field without enough evidence says "not enough data".
 */
import { extractFacts, findFacts, latest, type UserMessage } from "../offline-analyser.ts";
import type { Sections } from "../schemas.ts";
import { RELATIONS } from "./facts.ts";
import { writingStats } from "./stats.ts";
import { rankTopics, technologies } from "./topics.ts";

const ND = "not enough data";
const pct = (x: number) => `${Math.round(x * 100)}%`;
/** Fewer messages than this and style measures are not worth stating. */
const MIN_MESSAGES = 5;

/** Identity facts from MEMORY bullets written by extractFacts ("Lives in X, as of YYYY-MM-DD (…)", "Sister: Hana"). */
function memoryIdentity(md: string) {
  const out: { kind: "name" | "location" | "occupation" | "relation"; value: string; date: string }[] = [];
  const rel = new RegExp(`^- ((?:[\\p{L}]+'s )?(?:${RELATIONS})): (\\p{Lu}[\\p{L}'-]+)`, "iu");
  for (const line of md.split("\n")) {
    const m = line.match(/^- (Goes by|Lives in|Works as an?) (.+?)(?:, as of (\d{4}-\d{2}-\d{2}))?(?: \(.*\))?$/);
    if (m) {
      const kind = m[1] === "Goes by" ? "name" : m[1] === "Lives in" ? "location" : "occupation";
      out.push({ kind, value: m[2]!, date: m[3] ?? "" });
      continue;
    }
    const r = line.match(rel);
    if (r) out.push({ kind: "relation", value: `${r[1]!.toLowerCase()}: ${r[2]}`, date: "" });
  }
  return out;
}

export function offlineSections(messages: UserMessage[], memoryMd = "", aiName: string): Sections {
  const st = writingStats(messages);
  const hits = findFacts(messages);
  const facts = extractFacts(messages);
  const enough = st.messages >= MIN_MESSAGES;

  // USER: the latest statement wins for things that change; MEMORY covers conversations outside the sample.
  const fromMemory = memoryIdentity(memoryMd);
  const pick = (kind: "name" | "location" | "occupation") => {
    const here = latest(hits, kind);
    const mem = fromMemory.filter((x) => x.kind === kind).sort((a, b) => a.date.localeCompare(b.date)).at(-1);
    const hereDate = here?.hit.date ?? "";
    if (mem && (!here || mem.date > hereDate)) return { value: mem.value, date: mem.date };
    return here ? { value: here.hit.f.value, date: hereDate } : null;
  };
  const name = pick("name"), location = pick("location"), occupation = pick("occupation");
  const asOf = (x: { value: string; date: string } | null) => x?.value ?? ND;
  // Where the USER values came from: the date each was last said.
  const sources = ([["name", name], ["location", location], ["occupation", occupation]] as const)
    .flatMap(([k, v]) => (v?.date ? [`${k} as of ${v.date}`] : []));
  const relations = [
    ...new Set([
      ...hits.filter((h) => h.f.kind === "relation").map((h) => h.f.value),
      ...fromMemory.filter((x) => x.kind === "relation").map((x) => x.value),
    ]),
  ];
  // People and pets mentioned without a name still belong to the person's life.
  const unnamed = new Map<string, Set<string>>();
  for (const m of messages) {
    for (
      const r of m.text.matchAll(
        /\bmy (wife|husband|partner|girlfriend|boyfriend|son|daughter|kids|sister|brother|mom|mum|mother|dad|father|parents|cat|dog|baby|grandma|grandmother|grandpa|boss|team)\b/gi,
      )
    ) {
      const k = r[1]!.toLowerCase();
      (unnamed.get(k) ?? unnamed.set(k, new Set()).get(k)!).add(m.conversationId);
    }
  }
  for (const [rel, convs] of unnamed) {
    if (convs.size >= 2 && !relations.some((r) => r.startsWith(`${rel}:`))) {
      relations.push(`${rel} (mentioned in ${convs.size} conversations, no name given)`);
    }
  }

  const topics = rankTopics(messages, 8);
  const tech = technologies(messages).filter((t) => t.conversations >= 2);
  const likes = facts.preferences.filter((p) => p.startsWith("Likes ")).map((p) => p.slice(6).replace(/ \(.*$/, ""));
  const interests = [
    ...likes,
    // Technologies they name in at least a tenth of their conversations are interests too.
    ...tech.filter((t) => t.conversations >= Math.max(3, st.conversations * 0.1)).slice(0, 4)
      .map((t) => `${t.term} (${t.conversations} conversations)`),
    ...topics.map((t) => `${t.term} (${t.conversations} conversations)`),
  ].slice(0, 10);
  const projects = facts.projects.map((p) => p.name);
  const prefers = facts.preferences.filter((p) => p.startsWith("Prefers ")).map((p) =>
    p.slice(8).replace(/ \(.*$/, "")
  );
  const dislikes = facts.preferences.filter((p) => p.startsWith("Dislikes ")).map((p) =>
    p.slice(9).replace(/ \(.*$/, "")
  );

  const med = st.medianChars, n = st.messages;
  const style = !enough
    ? ND
    : `${med < 80 ? "brief and direct" : med > 400 ? "long and detailed" : "conversational, mid-length"} ` +
      `(median ${med} characters over ${n} messages; ${pct(st.questionRatio)} ask a question` +
      `${st.codeShare >= 0.05 ? `; ${pct(st.codeShare)} include code` : ""})`;
  const traits: string[] = [];
  if (enough) {
    if (st.questionRatio >= 0.5) traits.push(`inquisitive (${pct(st.questionRatio)} of messages are questions)`);
    if (st.codeShare >= 0.15) traits.push(`hands-on technical (${pct(st.codeShare)} of messages carry code)`);
    if (st.politeness >= 0.2) traits.push(`courteous (please/thanks in ${pct(st.politeness)} of messages)`);
    if (med >= 300) traits.push(`thorough (median message ${med} characters)`);
    if (med < 80) traits.push(`concise (median message ${med} characters)`);
    if (st.languages.length > 1 && st.languages[1]!.share >= 0.02) {
      traits.push(`multilingual (${st.languages.slice(0, 3).map((l) => `${l.name} ${pct(l.share)}`).join(", ")})`);
    }
    if (projects.length) traits.push(`builder (${projects.length} project${projects.length > 1 ? "s" : ""} mentioned)`);
  }
  const formality = !enough
    ? ND
    : st.casual >= 0.15
    ? `casual (slang or exclamations in ${pct(st.casual)} of messages)`
    : `plain and neutral (casual markers in ${pct(st.casual)} of messages, please/thanks in ${pct(st.politeness)})`;
  const emoji = !enough
    ? "minimal"
    : st.emojiPerMessage >= 1
    ? "heavy"
    : st.emojiPerMessage >= 0.3
    ? "moderate"
    : st.emojiPerMessage > 0.02
    ? "minimal"
    : "none";
  const months = st.months;
  const activity = months.length
    ? `active ${months[0]!.month} to ${months.at(-1)!.month}; busiest ${
      [...months].sort((a, b) => b.messages - a.messages).slice(0, 2).map((m) => `${m.month} (${m.messages} messages)`)
        .join(", ")
    }${st.hours.length ? `; most active ${[...st.hours].sort((a, b) => b.messages - a.messages)[0]!.hour}:00 UTC` : ""}`
    : ND;
  const first = name?.value.split(" ")[0];

  return {
    soul: {
      communication_style: style,
      personality_traits: traits,
      tone_preferences: prefers.length ? `asks for ${prefers.slice(0, 2).join("; ")}` : ND,
      boundaries: dislikes.length ? `dislikes ${dislikes.slice(0, 3).join(", ")}` : ND,
      humor_style: enough && st.casual >= 0.15 ? `light, informal (${pct(st.casual)} of messages)` : ND,
      formality_level: formality,
      emotional_patterns: activity,
    },
    identity: {
      ai_name: aiName,
      archetype: st.codeShare >= 0.15 || tech.length >= 3
        ? "Pragmatic Technical Partner"
        : projects.length
        ? "Steady Builder Companion"
        : "Thoughtful Companion",
      vibe: traits.length ? `${traits.slice(0, 2).map((t) => t.replace(/ \(.*$/, "")).join(", ")} companion` : ND,
      emoji_style: emoji,
      signature_greeting: first ? `Hey ${first}.` : "Hey.",
    },
    user: {
      name: name?.value ?? ND,
      location: asOf(location),
      occupation: asOf(occupation),
      relationships: relations.slice(0, 10),
      interests,
      life_context: projects.length || sources.length
        ? [
          projects.length ? `Working on ${projects.slice(0, 3).join("; ")}` : "",
          sources.length ? `(${sources.join(", ")})` : "",
        ]
          .filter(Boolean).join(" ")
        : ND,
      preferred_address: first ?? ND,
    },
    agents: {
      response_style: !enough
        ? ND
        : prefers.length
        ? `${prefers[0]} (asked for in their own words)`
        : med < 80
        ? `short, concrete answers (their messages: median ${med} characters)`
        : `answers as detailed as their questions (median ${med} characters)`,
      behavioral_rules: [
        ...(first ? [`Address the user as ${first}`] : []),
        ...(st.codeShare >= 0.05
          ? [
            `Answer with working code first${
              st.codeLanguages[0] ? `, in ${st.codeLanguages[0].name} unless asked otherwise` : ""
            }`,
          ]
          : []),
        ...(st.languages.length > 1 && st.languages[1]!.share >= 0.02
          ? [`Reply in the language of the message (${st.languages.slice(0, 3).map((l) => l.name).join(", ")} seen)`]
          : []),
        ...facts.decisions.filter((d) =>
          !/^(?:Goes by|Lives in|Works as)/.test(d.decision) && !d.decision.includes(": ")
        )
          .slice(0, 2).map((d) => `Respect the decision: ${d.decision}`),
      ],
      context_adaptation: topics.length
        ? `Switch register by subject: they move between ${topics.slice(0, 4).map((t) => t.term).join(", ")}`
        : ND,
      memory_directives: "Use remembered facts naturally; do not announce them",
      do_not: dislikes.slice(0, 5).map((d) => `Suggest ${d}`),
    },
    tools: {
      likely_usage: [
        ...tech.slice(0, 6).map((t) => `${t.term} (${t.conversations} conversations)`),
        ...topics.slice(0, 6 - Math.min(6, tech.length) + 2).map((t) => t.term),
      ],
      capabilities_emphasis: [
        ...(st.codeShare >= 0.05 ? [`code (${pct(st.codeShare)} of messages)`] : []),
        ...st.codeLanguages.slice(0, 3).map((l) => `${l.name} code (${l.messages} messages)`),
        ...(st.questionRatio >= 0.3 ? ["explanations and comparisons"] : []),
      ],
      output_preferences: prefers.length ? prefers.join("; ") : ND,
      depth_preference: !enough
        ? ND
        : med > 400
        ? `in depth (median message ${med} characters)`
        : `to the point (median message ${med} characters)`,
    },
  };
}
