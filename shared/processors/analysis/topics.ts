/**
 * What the person writes about: candidate terms are runs of content words between stop words
 * (never pronouns), ranked by TF-IDF against the export itself (a conversation is a document),
 * so what the person says everywhere ("can you help me") sinks and what they keep coming back
 * to rises. Technologies they name are counted against a lexicon of languages, frameworks and
 * tools (general knowledge, not anything about the person).
 */
import nlp from "compromise";
import { stripCode } from "./clauses.ts";

export interface Topic {
  term: string;
  /** Conversations that mention it. */
  conversations: number;
  score: number;
}

const STOP = new Set(
  ("a an the and or but if then else so of to in on at by for with about from into over under as is am are was were be been being " +
    "do does did doing have has had having can could would should will shall may might must not no yes very just also too " +
    "i me my mine myself we us our ours you your yours he him his she her hers it its they them their theirs this that these those " +
    "there here what which who whom whose when where why how all any some each every more most other such only own same than " +
    "up down out off again further once ok okay please thanks thank hi hey hello sure yeah really actually basically maybe " +
    "want wanted need needs needed like get got make made use used using try tried trying know think thought help let lets tell " +
    "give go going see look looking way thing things stuff something anything everything bit lot kind sort able work works " +
    "working does doesn didn don isn aren wasn won wouldn shouldn couldn can't don't i'm i've it's that's what's there's " +
    "talk talking say said ask asking question questions answer answers example examples approach option options context step " +
    "steps first second last next new good better best right wrong sense edge cases case idea ideas far change changes " +
    "quite sure yesterday today tomorrow now still already even much many few little long short well one two three " +
    "honestly compare version problem issue wondering mean means time times day days week weeks").split(" "),
);

export function terms(text: string): string[] {
  const out: string[] = [];
  const words = stripCode(text).toLowerCase().replace(/[’]/g, "'").split(/[^\p{L}\p{N}+#.'-]+/u);
  let run: string[] = [];
  const flush = () => {
    for (let n = 1; n <= Math.min(3, run.length); n++) {
      for (let i = 0; i + n <= run.length; i++) out.push(run.slice(i, i + n).join(" "));
    }
    run = [];
  };
  for (const raw of words) {
    const w = raw.replace(/^[.'-]+|[.'-]+$/g, "").replace(/'s$/, "");
    if (!w || STOP.has(w) || w.length < 3 && !/^(?:go|c#|r|ai|ui|ux|qa|ml)$/.test(w) || /^\d+$/.test(w)) flush();
    else run.push(w);
  }
  flush();
  return out;
}

/**
 * Terms ranked by Σ tf-idf over conversations, idf squared so that ubiquitous phrasing sinks;
 * a term must appear in at least two conversations, and a shorter term inside a longer one that
 * accounts for most of its uses is dropped in the longer one's favour.
 */
export function rankTopics(messages: { text: string; conversationId: string }[], k = 10): Topic[] {
  const byConv = new Map<string, Map<string, number>>();
  for (const m of messages) {
    const tf = byConv.get(m.conversationId) ?? new Map<string, number>();
    const ts = terms(m.text);
    // A long run of few distinct words is pasted filler or a log, not a subject.
    if (ts.length > 200 && new Set(ts).size < ts.length * 0.1) continue;
    for (const t of ts) tf.set(t, (tf.get(t) ?? 0) + 1);
    byConv.set(m.conversationId, tf);
  }
  const N = byConv.size;
  const df = new Map<string, number>();
  for (const tf of byConv.values()) for (const t of tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  const minDf = Math.max(2, Math.ceil(N * 0.01));
  const scored: Topic[] = [];
  for (const [t, d] of df) {
    if (d < minDf || (N >= 10 && d > N * 0.6)) continue;
    const idf = Math.log((N + 1) / d);
    let s = 0;
    for (const tf of byConv.values()) {
      const f = tf.get(t);
      if (f) s += (1 + Math.log(f)) * idf * idf;
    }
    // Phrases carry more meaning than their words alone.
    scored.push({ term: t, conversations: d, score: s * (1 + 0.5 * (t.split(" ").length - 1)) });
  }
  scored.sort((a, b) => b.score - a.score || a.term.localeCompare(b.term));
  const out: Topic[] = [];
  let tagged = 0;
  for (const c of scored) {
    if (out.length >= k || tagged > 200) break;
    tagged++;
    if (!nounPhrase(c.term)) continue;
    const within = (a: string, b: string) => ` ${b} `.includes(` ${a} `);
    // Keep the longer phrase when it covers most of the shorter one's conversations, and vice versa.
    if (
      out.some((o) => (within(c.term, o.term) && o.conversations >= 0.5 * c.conversations) || within(o.term, c.term))
    ) {
      continue;
    }
    out.push(c);
  }
  return out;
}

/**
 * A subject is a noun phrase: it ends in a noun (or a gerund: "sea kayaking") and holds no
 * preposition, pronoun or finite verb ("pod keeps restarting" is a sentence fragment, not a topic).
 * Only the few top-ranked candidates are tagged, which keeps the tagger's cost small.
 */
export function nounPhrase(term: string): boolean {
  const ts = (nlp(term).json() as { terms: { tags: string[] }[] }[])[0]?.terms ?? [];
  if (!ts.length) return false;
  const last = ts.at(-1)!.tags;
  if (!last.includes("Noun") && !last.includes("Gerund") && !last.includes("Acronym")) return false;
  return ts.every((t, i) =>
    !t.tags.some((g) => ["Preposition", "Pronoun", "Conjunction", "Determiner", "Adverb", "PastTense"].includes(g)) &&
    (i === 0 || !(t.tags.includes("PresentTense") && !t.tags.includes("Noun") && !t.tags.includes("Gerund")))
  );
}

/** Technologies by name: [display name, pattern]. Case matters where the word is also English ("Go", "Rust"). */
const TECH: [string, RegExp][] = [
  ["Python", /\bpython3?\b|\bpip install\b|\bdjango\b|\bflask\b|\bfastapi\b|\bpandas\b|\bnumpy\b|\bpytest\b/i],
  ["JavaScript", /\bjavascript\b|\bjs\b|\bnode(?:\.js|js)?\b|\bnpm\b|\bjquery\b|\bajax\b/i],
  ["TypeScript", /\btypescript\b|\btsconfig\b|\b\w+\.tsx?\b/i],
  ["Rust", /\bRust\b|\brust (?:lifetimes?|borrow|compiler)\b|\bcargo\b|\bborrow checker\b/],
  ["Go", /\bgolang\b|\bGo (?:module|routine|code|program|app|service|struct)s?\b|\bgoroutines?\b/],
  ["Java", /\bjava\b(?!script)|\bspring boot\b|\bmaven\b|\bgradle\b/i],
  ["Kotlin", /\bkotlin\b/i],
  ["Swift", /\bswift(?:ui)?\b|\bxcode\b/i],
  ["C#/.NET", /\bc#|\.net\b|\basp\.net\b/i],
  ["C/C++", /\bc\+\+|\bcpp\b|\bsegfault\b|\bcmake\b/i],
  ["PHP", /\bphp\b|\blaravel\b|\bwordpress\b/i],
  ["Ruby", /\bruby\b|\brails\b/i],
  ["SQL", /\bsql\b|\bquery planner\b/i],
  ["PostgreSQL", /\bpostgres(?:ql)?\b|\bpsql\b|\bpgvector\b/i],
  ["MySQL", /\bmysql\b|\bmariadb\b/i],
  ["SQLite", /\bsqlite\b/i],
  ["MongoDB", /\bmongo(?:db)?\b|\bmongoose\b/i],
  ["Redis", /\bredis\b/i],
  ["React", /\breact(?:\.js|js)?\b|\buse(?:State|Effect|Memo|Ref)\b|\bjsx\b/i],
  ["Next.js", /\bnext\.?js\b/i],
  ["Vue", /\bvue(?:\.js|js)?\b|\bnuxt\b/i],
  ["Angular", /\bangular\b/i],
  ["Svelte", /\bsvelte(?:kit)?\b/i],
  ["Tailwind CSS", /\btailwind\b/i],
  ["CSS", /\bcss\b|\bflexbox\b|\bgrid layout\b/i],
  ["HTML", /\bhtml\b/i],
  ["Express", /\bexpress(?:\.js|js)?\b(?= (?:app|server|route|middleware))/i],
  ["Django", /\bdjango\b/i],
  ["Flask", /\bflask\b/i],
  ["FastAPI", /\bfastapi\b/i],
  ["Docker", /\bdocker(?:file|-compose| compose)?\b|\bcontainers?\b/i],
  ["Kubernetes", /\bkubernetes\b|\bk8s\b|\bkubectl\b|\bhelm chart\b/i],
  ["Terraform", /\bterraform\b/i],
  ["AWS", /\baws\b|\bs3 bucket\b|\blambda function\b|\bec2\b|\bcloudformation\b/i],
  ["Google Cloud", /\bgcp\b|\bgoogle cloud\b|\bbigquery\b/i],
  ["Azure", /\bazure\b/i],
  ["Git", /\bgit\b|\bgithub\b|\bgitlab\b|\bmerge conflict\b|\brebase\b/i],
  ["Linux", /\blinux\b|\bubuntu\b|\bdebian\b|\bsystemd\b|\bbash\b/i],
  ["Nginx", /\bnginx\b/i],
  ["GraphQL", /\bgraphql\b/i],
  ["REST APIs", /\brest api\b|\bendpoints?\b|\bhttp (?:request|status)\b|\bcors\b/i],
  ["Supabase", /\bsupabase\b/i],
  ["Firebase", /\bfirebase\b|\bfirestore\b/i],
  ["Deno", /\bdeno\b/i],
  ["Webpack/Vite", /\bwebpack\b|\bvite\b|\bbabel\b/i],
  ["Jest", /\bjest\b|\bvitest\b/i],
  ["PyTorch", /\bpytorch\b|\btorch\b/i],
  ["TensorFlow", /\btensorflow\b|\bkeras\b/i],
  ["pandas", /\bpandas\b|\bdataframe\b/i],
  ["Excel/Sheets", /\bexcel\b|\bspreadsheets?\b|\bgoogle sheets\b|\bvlookup\b|\bpivot table\b/i],
  ["Figma", /\bfigma\b/i],
  ["VS Code", /\bvs ?code\b|\bvisual studio code\b/i],
  ["Vim", /\bn?vim\b/i],
  ["Regex", /\bregex(?:es)?\b|\bregular expressions?\b/i],
];

/** Technologies named in the messages, by the number of conversations that name them. */
export function technologies(messages: { text: string; conversationId: string }[]): Topic[] {
  const convs = new Map<string, Set<string>>();
  for (const m of messages) {
    for (const [name, re] of TECH) {
      if (re.test(m.text)) (convs.get(name) ?? convs.set(name, new Set()).get(name)!).add(m.conversationId);
    }
  }
  return [...convs].map(([term, s]) => ({ term, conversations: s.size, score: s.size }))
    .sort((a, b) => b.conversations - a.conversations || a.term.localeCompare(b.term));
}
