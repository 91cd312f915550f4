/**
 * Fidelity exports: a synthetic person states ground-truth facts across ChatGPT conversations,
 * in passing (inside questions about something else), mixed into ordinary task chatter, plus
 * labelled traps: assistant claims, hypotheticals, negations, someone else's facts ("foreign"),
 * superseded values ("stale"), attempts to instruct the analyser. Deterministic by seed.
 *
 * Phrasing sets: "A" draws from the development phrasings (phrasings.ts), "H" from the held-out
 * ones (heldout.ts); every kind has at least six ways of saying it and the seed picks one per
 * statement. The repeated fact is said twice in two different phrasings, nothing marks it.
 */
import { conversation as chatter, rng } from "../../tools/export-generator.ts";
import { DEV, type Kind, type Phrasings } from "./phrasings.ts";
import { HELD_OUT } from "./heldout.ts";

export type TemplateSet = "A" | "H";

export interface TruthFact {
  id: string;
  category:
    | "identity"
    | "location"
    | "work"
    | "family"
    | "preferences"
    | "projects"
    | "dates"
    | "beliefs"
    | "decisions";
  /** Normalised terms that must all appear for the fact to count as remembered. */
  terms: string[];
  /** For facts that changed: the profile field that must show the current value, and the stale value. */
  current?: { field: "location" | "occupation"; stale: string[] };
  /** Stated more than once in different words (MEMORY should say it once). */
  repeated?: boolean;
}

export interface Trap {
  id: string;
  kind: "assistant" | "hypothetical" | "negation" | "foreign" | "stale" | "injection";
  /** Terms that must not become a fact about the user (for "stale": must not be the current value). */
  forbidden: string[];
  /** For stale traps: the profile field where the superseded value must not show. */
  field?: "location" | "occupation";
}

export interface GroundTruth {
  seed: number;
  templates: TemplateSet;
  facts: TruthFact[];
  traps: Trap[];
  /**
   * True things about the person that were not planted: what the chatter talks about and the
   * answer style it asks for, and superseded values (true once). Output that matches these is
   * neither recall nor unsupported.
   */
  background: string[][];
}

const FIRST = ["Dana", "Milo", "Priya", "Tomas", "Aiko", "Leon", "Sofia", "Ravi", "Nora", "Felix"];
const LAST = ["Reyes", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Castillo", "Brennan", "Ivanova"];
const CITIES = ["Porto", "Leeds", "Ghent", "Bergen", "Tucson", "Halifax", "Graz", "Dunedin", "Cork", "Tampere"];
const JOBS = ["data engineer", "nurse", "architect", "teacher", "pharmacist", "photographer", "accountant", "chef"];
const LIKES = [
  "trail running",
  "bouldering",
  "jazz piano",
  "birdwatching",
  "pottery",
  "sea kayaking",
  "chess problems",
  "sourdough baking",
];
const DISLIKES = ["crowded malls", "horror movies", "cold coffee", "loud open offices", "reality shows"];
const NOT_LIKED = ["golf", "karaoke", "camping", "opera"];
const PROJECTS = [
  "a budgeting app for students",
  "a community garden website",
  "a podcast about local history",
  "a board game prototype",
];
const BELIEFS = [
  "public libraries matter for every town",
  "kindness is a form of strength",
  "good sleep beats productivity hacks",
];
const DECISIONS = [
  "adopt a rescue greyhound",
  "learn Portuguese properly",
  "stop working weekends",
  "run a half marathon",
];
const PETS = ["Biscuit", "Pepper", "Juniper", "Mochi", "Ziggy"];
const SIBLINGS = ["Hana", "Oskar", "Lena", "Mateo", "Ines"];
const MONTHS = ["March", "April", "May", "June", "September", "October"];
/** What the chatter of export-generator.ts talks about and asks for (true of the person, not planted). */
const CHATTER = [
  "sourdough starter",
  "rust lifetimes",
  "marathon training",
  "tax deadlines",
  "birthday gift",
  "postgres indexes",
  "learning portuguese",
  "job interview",
  "moving apartments",
  "cat s diet",
  "react refactor",
  "trip to kyoto",
  "budget spreadsheets",
  "short story draft",
  "story draft",
  "cat diet",
  "cat",
  "guitar chords",
  "sleep schedule",
  "short answers",
  "concrete examples",
];

/** The everyday requests a fact is mentioned inside of. */
const WRAPPERS: ((s: string) => string)[] = [
  (s) => `Quick question about my week. ${s} Anyway, can you help me plan tomorrow?`,
  (s) => `${s} How do I freeze the top row in a spreadsheet?`,
  (s) => `Can you suggest a dinner for four? ${s}`,
  (s) => `${s.replace(/[.!]$/, "")}, so what should I pack for a rainy weekend?`,
  (s) => `Need a short email to my landlord about the heating. ${s} Keep it polite.`,
  (s) => `${s} What's a good stretch for a stiff back?`,
];

export const norm = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();

export interface FidelityOptions {
  /** Chatter conversations between two statements. @default 3 */
  fillerPerFact?: number;
  /** Total conversations; when set, statements are spread at random over the whole timeline. */
  conversations?: number;
}

/** The export (conversations array) and its ground truth. */
export function generateFidelityExport(seed: number, templates: TemplateSet, opts: FidelityOptions = {}) {
  const r = rng(seed * 7919 + (templates === "A" ? 1 : 3));
  const pick = <X>(xs: X[]) => xs[Math.floor(r() * xs.length)]!;
  const P: Phrasings = templates === "A" ? DEV : HELD_OUT;
  const say = (k: Kind, v = "") => pick(P[k])(v);
  const name = `${pick(FIRST)} ${pick(LAST)}`;
  const city1 = pick(CITIES);
  const city2 = CITIES[(CITIES.indexOf(city1) + 1 + Math.floor(r() * 3)) % CITIES.length]!;
  const job1 = pick(JOBS), job2 = JOBS[(JOBS.indexOf(job1) + 3) % JOBS.length]!;
  const like1 = pick(LIKES), like2 = LIKES[(LIKES.indexOf(like1) + 2) % LIKES.length]!;
  const dislike = pick(DISLIKES), notLiked = pick(NOT_LIKED), project = pick(PROJECTS);
  const belief = pick(BELIEFS), decision = pick(DECISIONS), pet = pick(PETS), sibling = pick(SIBLINGS);
  const birthday = `${pick(MONTHS)} ${1 + Math.floor(r() * 27)}`;
  const hypoCity = CITIES[(CITIES.indexOf(city2) + 4) % CITIES.length]!;
  const otherCity = CITIES[(CITIES.indexOf(city2) + 6) % CITIES.length]!;

  const facts: TruthFact[] = [
    { id: "name", category: "identity", terms: [norm(name.split(" ")[0]!)] },
    {
      id: "location",
      category: "location",
      terms: [norm(city2)],
      current: { field: "location", stale: [norm(city1)] },
    },
    { id: "work", category: "work", terms: [norm(job2)], current: { field: "occupation", stale: [norm(job1)] } },
    { id: "like1", category: "preferences", terms: [norm(like1)], repeated: true },
    { id: "like2", category: "preferences", terms: [norm(like2)] },
    { id: "dislike", category: "preferences", terms: [norm(dislike)] },
    { id: "diet", category: "preferences", terms: ["meat"] },
    { id: "project", category: "projects", terms: [norm(project)] },
    { id: "birthday", category: "dates", terms: [norm(birthday)] },
    { id: "belief", category: "beliefs", terms: [norm(belief)] },
    { id: "decision", category: "decisions", terms: [norm(decision)] },
    { id: "sibling", category: "family", terms: [norm(sibling)] },
    { id: "pet", category: "family", terms: [norm(pet)] },
  ];
  const traps: Trap[] = [
    { id: "assistant", kind: "assistant", forbidden: ["quantum origami"] },
    { id: "hypothetical", kind: "hypothetical", forbidden: [norm(hypoCity)] },
    {
      id: "negation",
      kind: "negation",
      forbidden: [`likes ${notLiked}`, `loves ${notLiked}`, `enjoys ${notLiked}`, `into ${notLiked}`],
    },
    { id: "foreign", kind: "foreign", forbidden: [norm(otherCity)] },
    { id: "stale_location", kind: "stale", forbidden: [norm(city1)], field: "location" },
    { id: "stale_work", kind: "stale", forbidden: [norm(job1)], field: "occupation" },
    { id: "injection", kind: "injection", forbidden: ["admin", "atlantis"] },
  ];
  // The "other person" phrasings name a friend, Tom: having a friend Tom is true of the person.
  const background = [...CHATTER.map((t) => [t]), [norm(city1)], [norm(job1)], [notLiked], ["tom"]];

  // Statements in time order: superseded values first. The repeated fact comes back in other words.
  const statements: { text: string; assistant?: string }[] = [
    { text: say("city", city1) },
    { text: say("job", job1) },
    { text: say("name", name) },
    { text: say("like", like1) },
    { text: say("dislike", dislike) },
    { text: say("diet") },
    { text: say("sibling", sibling) },
    { text: say("pet", pet) },
    { text: say("hypo", hypoCity) },
    { text: say("other", otherCity) },
    { text: say("birthday", birthday) },
    { text: "What do you like to do?", assistant: "As an AI I love quantum origami, but let's talk about you." },
    { text: say("project", project) },
    { text: say("belief", belief) },
    { text: say("negation", notLiked) },
    { text: say("inject") },
    { text: say("moved", city2) },
    { text: say("newjob", job2) },
    { text: say("like", like2) },
    { text: say("decision", decision) },
    { text: say("like", like1) },
  ];

  const per = opts.fillerPerFact ?? 3;
  const total = opts.conversations ?? statements.length * (per + 1);
  // Where each statement goes among `total` slots: evenly with jitter, so old conversations carry facts too.
  const slots = new Set<number>();
  statements.forEach((_, i) => {
    const span = total / statements.length;
    let s = Math.floor(i * span + r() * (span - 1)) + (opts.conversations ? 0 : per);
    while (slots.has(s)) s++;
    slots.add(s);
  });
  const ctx = { r, t: 1_640_995_200, n: 0 };
  const convs: Record<string, unknown>[] = [];
  let k = 0;
  const node = (id: string, parent: string | null, role: string, text: string, time: number) => ({
    id,
    parent,
    children: [] as string[],
    message: {
      id,
      author: { role },
      create_time: time,
      content: { content_type: "text", parts: [text] },
      recipient: "all",
      metadata: {},
    },
  });
  for (let slot = 0; convs.length < Math.max(total, Math.max(...slots) + 1); slot++) {
    if (!slots.has(slot)) {
      convs.push(chatter(ctx));
      continue;
    }
    const s = statements[k]!;
    ctx.t += 86_400 * 3;
    const id = `fact-${templates}-${k++}`;
    const reply = s.assistant ?? "Sure, here is a short answer you can use.";
    const a = node(`${id}-u`, null, "user", pick(WRAPPERS)(s.text), ctx.t);
    const b = node(`${id}-a`, a.id, "assistant", reply, ctx.t + 30);
    const c = node(`${id}-u2`, b.id, "user", "Thanks. Can you make it shorter?", ctx.t + 60);
    const d = node(`${id}-a2`, c.id, "assistant", "Done: the same in two lines.", ctx.t + 90);
    a.children.push(b.id);
    b.children.push(c.id);
    c.children.push(d.id);
    convs.push({
      id,
      conversation_id: id,
      title: `Quick help ${k}`,
      create_time: ctx.t,
      update_time: ctx.t + 90,
      mapping: { [a.id]: a, [b.id]: b, [c.id]: c, [d.id]: d },
      current_node: d.id,
    });
  }
  return { conversations: convs, truth: { seed, templates, facts, traps, background } as GroundTruth };
}
