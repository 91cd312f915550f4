/**
 * Self-statements to facts. Each rule reads a predicate shape ("live in <Place>", "work as a
 * <role>", "my <relation> <Name>") on a clause whose subject is the person (I, we, or no subject);
 * questions, hypotheticals and negations are handled by the clause's flags, not by wording.
 */
import type { Clause } from "./clauses.ts";

export type FactKind =
  | "name"
  | "location"
  | "occupation"
  | "relation"
  | "like"
  | "dislike"
  | "prefer"
  | "diet"
  | "project"
  | "date"
  | "belief"
  | "decision";

export interface Found {
  kind: FactKind;
  /** The value ("Porto", "nurse", "sister: Hana", "trail running"). */
  value: string;
  /** For dates: the event ("birthday", "sister's birthday"). */
  event?: string;
  /** The statement marks a change ("moved to", "now", "new job"): it wins over older values. */
  change?: boolean;
}

const ADV =
  "(?:(?:just|finally|recently|really|truly|absolutely|honestly|also|still|now|actually|totally|always|firmly|strongly|mostly|currently|officially|even|already|kind of|sort of|genuinely|deeply|seriously)\\s+)*";
const SUBJ = `^(?:(?:i|we)(?:'m|'re|'ve|'d| am| are| have)?\\s+|i'm\\s+|we're\\s+|am\\s+)?${ADV}`;
const NAME = "(\\p{Lu}[\\p{L}'-]+(?:\\s\\p{Lu}[\\p{L}'-]+)?)";
const PLACE = "(\\p{Lu}[\\p{L}.'-]+(?:\\s(?:\\p{Lu}[\\p{L}.'-]+|de|do|da|am|upon|on)){0,2})";
export const RELATIONS =
  "wife|husband|partner|girlfriend|boyfriend|fianc[ée]e?|son|daughter|kid|child|baby|sister|sis|brother|bro|mom|mum|mother|dad|father|grandma|grandmother|grandpa|grandfather|aunt|uncle|cousin|niece|nephew|friend|best friend|roommate|flatmate|colleague|coworker|boss|manager|neighbou?r|dog|cat|puppy|kitten|parrot|rabbit|bunny|hamster|horse|tortoise|turtle|budgie|guinea pig|ferret|goldfish";
const PETS = "dog|cat|puppy|kitten|parrot|rabbit|bunny|hamster|horse|tortoise|turtle|budgie|guinea pig|ferret|goldfish";
const REL_MOD = "(?:(?:little|big|younger|older|baby|twin|old|new|best|step|elder|late|rescue)\\s+)?";
const ROLES =
  "engineer|developer|programmer|designer|teacher|nurse|doctor|physician|surgeon|dentist|manager|writer|author|journalist|editor|student|scientist|researcher|analyst|consultant|lawyer|attorney|paralegal|chef|cook|baker|artist|illustrator|musician|accountant|bookkeeper|architect|photographer|pharmacist|founder|entrepreneur|freelancer|contractor|electrician|plumber|carpenter|mechanic|technician|administrator|admin|sysadmin|librarian|therapist|psychologist|counsellor|counselor|social worker|paramedic|firefighter|police officer|officer|pilot|driver|farmer|gardener|veterinarian|vet|midwife|caregiver|translator|interpreter|tutor|lecturer|professor|economist|marketer|recruiter|salesperson|sales rep|barista|waiter|waitress|bartender|cashier|clerk|secretary|assistant|intern|student|mathematician|statistician|biologist|chemist|physicist|geologist|tester|devops|sre|cto|ceo|coo|cfo|vp|director|lead|product owner|scrum master|ux researcher|copywriter|animator|producer|filmmaker|actor|dancer|coach|trainer|instructor|principal";
const ROLE = `((?:[a-z-]+\\s+)?(?:${ROLES}))`;
const MONTH =
  "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
const DATE =
  `((?:${MONTH}\\s+\\d{1,2}(?:st|nd|rd|th)?|(?:the\\s+)?\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH}|\\d{4}-\\d{2}-\\d{2})(?:,?\\s+\\d{4})?)`;
const PROJECT_NOUNS =
  /\b(?:app|application|website|site|web ?app|game|prototype|tool|library|lib|package|plugin|extension|bot|podcast|blog|newsletter|book|novel|memoir|thesis|dissertation|paper|startup|business|shop|store|company|service|platform|api|dashboard|cli|framework|engine|course|channel|album|film|documentary|garden|renovation|shed|boat|campaign|project|side project|tracker|planner|generator|compiler|database|script|saas|product|zine|comic|portfolio|mod|clone)s?\b/i;
/** Capitalised words that are not names. */
const NOT_NAME = new Set(
  "I I'm The A An Not Sure Here Just So Fine Back Done Good Happy Sorry Stuck Trying Working Looking Going Glad Also Still Now Really Very Quite Using Currently Thinking Afraid Ready Able Aware Curious Confused New Tired Busy Excited Back Okay Ok Yes No Hi Hey Hello Thanks Thank Please English Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
    .split(" "),
);
/** Where an object phrase stops: time, frequency, reasons, asides. */
const TAIL =
  /\s+(?:more than|on (?:the )?weekends?|on sundays?|at (?:the moment|home|night|work)|every\b|each\b|these days|lately|so much|a lot|too\b|as a family|for (?:years|months|ages|a while|fun|now)|with (?:a |my |the |friends)|when\b|because\b|since\b|if\b|right now|nowadays|again\b|in the (?:evenings?|mornings?|spring|summer|autumn|fall|winter)|after work|together|slowly|,|\(|to be honest|honestly|much\b|at all|anymore|any ?more|in \d{4}|last (?:week|month|year|spring|summer|autumn|winter)|(?:two|three|\d+) (?:years|months|weeks) ago|a while back).*$/i;

const clip = (s: string, words = 8) => s.trim().split(/\s+/).slice(0, words).join(" ").replace(/[\s,;:.!?]+$/, "");
const object = (s: string) => clip(s.replace(TAIL, ""));
const isName = (s: string) => !NOT_NAME.has(s.split(" ")[0]!) && /^\p{Lu}/u.test(s);

/** Facts stated about the person in one clause (the caller has already dropped questions etc.). */
const LIKE =
  "(?:love|loves|like|likes|enjoy|enjoys|adore|into|obsessed with|hooked on|(?:a )?(?:big|huge) fan of|can't get enough of|crazy about|passionate about)";
const DISLIKE = "(?:hate|hates|dislike|dislikes|detest|loathe|can't stand|cannot stand|can't bear|not a fan of)";
// The statement shapes below, compiled once: factsOfClause runs on every clause the person wrote.
const MY_RELATION_NAMED_RE = new RegExp(
  `\\b([Mm]y|[Oo]ur)\\s+((?:(?:${RELATIONS})'s\\s+)?)${REL_MOD}(${RELATIONS})(?:'s name is|,| is called| named| called)?\\s+${NAME}`,
  "gu",
);
const NAME_MY_RELATION_RE = new RegExp(`${NAME}\\s*[(,]\\s*(?:my|our)\\s+${REL_MOD}(${RELATIONS})\\b`, "gu");
const PET_NAMED_RE = new RegExp(
  `\\b(?:have|has|got|adopted|rescued)\\s+an?\\s+${REL_MOD}(${PETS})\\s+(?:named|called)\\s+${NAME}`,
  "u",
);
const BIRTHDAY_ON_RE = new RegExp(
  `\\b(?:my\\s+)?(?:birthday|bday|b-day)(?:'s| is| falls)?\\s+(?:is\\s+)?(?:on\\s+)?${DATE}`,
  "i",
);
const BORN_ON_RE = new RegExp(`\\bborn\\s+(?:on\\s+)?${DATE}`, "i");
const TURNING_ON_RE = new RegExp(`\\bturn(?:ing)?\\s+\\d+\\s+on\\s+${DATE}`, "i");
const MY_BIRTHDAY_ON_RE = new RegExp(`\\bmy birthday on\\s+${DATE}`, "i");
const DATE_IS_MY_DAY_RE = new RegExp(`^${DATE}\\s+is\\s+my\\s+(birthday|anniversary)`, "i");
const MY_OCCASION_ON_RE = new RegExp(
  `\\b(?:my|our)\\s+(wedding anniversary|anniversary|wedding|graduation)\\s+(?:is\\s+)?(?:on\\s+)?${DATE}`,
  "i",
);
const RELATIONS_DAY_ON_RE = new RegExp(
  `\\b(?:my|our)\\s+(${RELATIONS})'s\\s+(birthday|anniversary)\\s+(?:is\\s+)?(?:on\\s+)?${DATE}`,
  "i",
);
const MY_NAME_IS_RE = new RegExp(`\\b[Mm]y (?:full |first |real )?name(?: is|'s)\\s+${NAME}`, "u");
const NAMES_RE = new RegExp(`^(?:[Mm]y )?[Nn]ame's\\s+${NAME}`, "u");
const CALL_ME_RE = new RegExp(`\\b(?:[Cc]all me|[Ii] go by|[Pp]eople call me|[Ee]veryone calls me)\\s+${NAME}`, "u");
const I_AM_NAME_RE = new RegExp(`^(?:I'm|I am)\\s+${NAME}\\s*(?:$|,|\\band\\b|\\bhere\\b|\\bfrom\\b)`, "u");
const NAME_IS_MY_NAME_RE = new RegExp(`${NAME},?\\s+(?:that's|is) my (?:full |first |real )?name`, "u");
const NAME_HERE_RE = new RegExp(`^${NAME}\\s+(?:here|again)\\b`, "u");
const MOVED_TO_RE = new RegExp(
  `\\b(?:[Mm]oved|[Mm]oving|[Rr]elocated|[Rr]elocating)\\s+(?:back\\s+|over\\s+)?to\\s+${PLACE}`,
  "u",
);
const LIVE_IN_RE = new RegExp(
  `\\b(?:[Ll]ive|[Ll]iving|[Bb]ased|[Ss]ettled|[Ss]taying|[Ll]ocated)\\s+(?:here\\s+)?in\\s+${PLACE}`,
  "u",
);
const MY_HOME_IN_RE = new RegExp(
  `\\b(?:my|our|My|Our)\\s+(?:flat|apartment|house|home|place|town|city)\\s+in\\s+${PLACE}`,
  "u",
);
const HERE_IN_RE = new RegExp(`\\b[Hh]ere in\\s+${PLACE}`, "u");
const WORK_AS_RE = new RegExp(`\\b(?:work|working|worked)\\s+as\\s+an?\\s+${ROLE}\\b`, "i");
const STARTED_AS_RE = new RegExp(
  `(?:hired|started|starting|promoted to|new (?:job|role|position) as)\\s+(?:as\\s+)?an?\\s+${ROLE}\\b`,
  "i",
);
const JOB_AS_RE = new RegExp(`\\b(?:job|work|role|position)\\s+as\\s+an?\\s+${ROLE}\\b`, "i");
const I_AM_ROLE_RE = new RegExp(`^(?:i'm|i am|i've been|been|became|i became)\\s+(?:now\\s+)?an?\\s+${ROLE}\\b`, "i");
const AS_ROLE_RE = new RegExp(`^as an?\\s+${ROLE}\\b`, "i");
const SELF_DISLIKE_RE = new RegExp(`${SUBJ}(?:been\\s+)?${ADV}${DISLIKE}\\s+(.+)`, "i");
const SELF_LIKE_RE = new RegExp(`${SUBJ}(?:been\\s+)?${ADV}${LIKE}\\s+(.+)`, "i");
const SELF_NOT_LIKE_RE = new RegExp(
  `${SUBJ}(?:don't|do not|never|no longer|didn't)\\s+${ADV}(?:really\\s+)?(?:like|liked|enjoy|enjoyed|love|loved)\\s+(.+)`,
  "i",
);
const SELF_PREFER_RE = new RegExp(`${SUBJ}(?:prefer|prefers)\\s+(.+)`, "i");
const SELF_MAKING_RE = new RegExp(
  `${SUBJ}(?:working on|building|developing|writing|making|creating|designing|putting together|hacking on|launching|started|starting|running)\\s+(.+)`,
  "i",
);
const SELF_BELIEVE_RE = new RegExp(
  `${SUBJ}(?:always\\s+)?(?:believe[ds]?|believed|am convinced|convinced|hold|(?:truly|firmly|really|deeply|genuinely|always) (?:think|feel|felt))\\s+(?:that\\s+)?(.+)`,
  "i",
);
const SELF_DECIDED_RE = new RegExp(
  `${SUBJ}(?:have\\s+|'ve\\s+)?${ADV}(?:decided|made the decision|made up (?:my|our) minds?|resolved|chose|chosen|committed|committing)\\s+(?:to\\s+|that\\s+)?(?:(?:i|we)(?:'ll| will| would)\\s+)?(.+)`,
  "i",
);
const SELF_CHANGED_RE = new RegExp(
  `${SUBJ}(quit|gave up|stopped|switched to|signed up for|enrolled in|took up|picked up)\\s+(.+)`,
  "i",
);

export function factsOfClause(c: Clause): Found[] {
  const out: Found[] = [];
  const t = c.text;
  const self = c.subject !== "other";
  const asserted = !c.question && !c.hypothetical;
  let m: RegExpMatchArray | null;

  // Relations hold even inside questions ("can you help my sister Hana…?"), but not in hypotheticals.
  if (!c.hypothetical) {
    const relRe = MY_RELATION_NAMED_RE;
    for (const r of t.matchAll(relRe)) {
      if (isName(r[4]!)) {
        out.push({ kind: "relation", value: `${r[2] ? r[2] : ""}${norm(r[3]!)}: ${r[4]!.replace(/'s$/, "")}` });
      }
    }
    const backRe = NAME_MY_RELATION_RE;
    for (const r of t.matchAll(backRe)) {
      if (isName(r[1]!)) out.push({ kind: "relation", value: `${norm(r[2]!)}: ${r[1]}` });
    }
    if (
      self &&
      (m = t.match(
        PET_NAMED_RE,
      )) && isName(m[2]!)
    ) {
      out.push({ kind: "relation", value: `${norm(m[1]!)}: ${m[2]}` });
    }
  }
  // Dates are stated even inside a request ("my birthday's on 12 August, plan a menu?").
  const neg = c.negated;
  if (!c.hypothetical) {
    // Dates tied to the person or to someone they name.
    if (
      (m = t.match(
        BIRTHDAY_ON_RE,
      )) ||
      (self && (m = t.match(BORN_ON_RE))) ||
      (m = t.match(TURNING_ON_RE)) ||
      (m = t.match(MY_BIRTHDAY_ON_RE))
    ) {
      if (!/\b(?:my|our)\s+\w+'s\s+(?:birthday|bday)/i.test(t)) {
        out.push({ kind: "date", event: "birthday", value: m[1]! });
      }
    } else if ((m = t.match(DATE_IS_MY_DAY_RE))) {
      out.push({ kind: "date", event: m[2]!.toLowerCase(), value: m[1]! });
    } else if (
      (m = t.match(
        MY_OCCASION_ON_RE,
      ))
    ) {
      out.push({ kind: "date", event: m[1]!.toLowerCase(), value: m[2]! });
    }
    if (
      (m = t.match(
        RELATIONS_DAY_ON_RE,
      ))
    ) {
      out.push({ kind: "date", event: `${norm(m[1]!)}'s ${m[2]!.toLowerCase()}`, value: m[3]! });
    }
  }
  if (!asserted) return out;

  // Name.
  if (
    (m = t.match(MY_NAME_IS_RE)) ||
    (m = t.match(NAMES_RE)) ||
    (m = t.match(CALL_ME_RE)) ||
    (c.subject === "i" &&
      (m = t.match(I_AM_NAME_RE))) ||
    (m = t.match(NAME_IS_MY_NAME_RE)) ||
    (c.sentenceStart && (m = t.match(NAME_HERE_RE)))
  ) {
    if (isName(m[1]!)) out.push({ kind: "name", value: m[1]! });
  }

  if ((m = t.match(/^(.{3,60}?)\s+(?:is|are)\s+my\s+(?:absolute\s+)?favou?rite\b/i)) && !neg) {
    out.push({ kind: "like", value: object(m[1]!.toLowerCase()) });
  }
  if (!self) return out;

  // Location.
  if (!neg) {
    if (
      (m = t.match(
        MOVED_TO_RE,
      ))
    ) {
      out.push({ kind: "location", value: m[1]!, change: true });
    } else if (
      (m = t.match(
        LIVE_IN_RE,
      )) ||
      (m = t.match(
        MY_HOME_IN_RE,
      )) ||
      (m = t.match(HERE_IN_RE))
    ) {
      out.push({ kind: "location", value: m[1]!, change: /\bnow\b/i.test(t) });
    }
  }

  // Occupation.
  if (!neg) {
    const roleRes: [RegExp, boolean][] = [
      [WORK_AS_RE, false],
      [
        STARTED_AS_RE,
        true,
      ],
      [JOB_AS_RE, false],
      [I_AM_ROLE_RE, false],
      [AS_ROLE_RE, false],
    ];
    for (const [re, change] of roleRes) {
      if ((m = t.match(re))) {
        const role = m[1]!.toLowerCase().replace(/^(?:new|good|great|full|part|the|my)\s+/, "");
        out.push({ kind: "occupation", value: role, change: change || /\b(?:now|new|switched|became)\b/i.test(t) });
        break;
      }
    }
  }

  // Preferences.
  if ((m = t.match(SELF_DISLIKE_RE))) {
    out.push({ kind: "dislike", value: object(m[1]!) });
  } else if ((m = t.match(SELF_LIKE_RE))) {
    // "don't like X", "never liked X", "no longer enjoy X": the negation turns a like into a dislike.
    if (!/^(?:to|you|it|that|this|the idea)\b/i.test(m[1]!)) {
      out.push({ kind: neg ? "dislike" : "like", value: object(m[1]!) });
    }
  } else if (
    (m = t.match(
      SELF_NOT_LIKE_RE,
    ))
  ) {
    out.push({ kind: "dislike", value: object(m[1]!) });
  }
  if ((m = t.match(SELF_PREFER_RE)) && !neg) {
    out.push({ kind: "prefer", value: clip(m[1]!, 10) });
  }
  if (
    (m = t.match(
      /\b(?:don't|do not|never|no longer|stopped|quit|gave up|avoid|can't|no)\s+(?:eat(?:ing)?\s+|drink(?:ing)?\s+)?(meat|fish|pork|beef|dairy|gluten|sugar|alcohol|coffee|caffeine|eggs|seafood|nuts)\b/i,
    ))
  ) {
    const what = m[1]!.toLowerCase();
    out.push({ kind: "diet", value: `Does not ${/alcohol|coffee|caffeine/.test(what) ? "drink" : "eat"} ${what}` });
  } else if ((m = t.match(/\b(?<!not (?:a )?)(vegetarian|vegan|pescatarian|teetotal|gluten-free)\b/i))) {
    out.push({ kind: "diet", value: `Is ${m[1]!.toLowerCase()}` });
  } else if ((m = t.match(/\ballergic to\s+([a-z ]{3,30})/i))) {
    out.push({ kind: "diet", value: `Allergic to ${object(m[1]!)}` });
  }

  // Projects: an object whose head is something one builds or makes.
  if (
    !neg &&
    ((m = t.match(
      SELF_MAKING_RE,
    )) ||
      (m = t.match(
        /\b(?:my|our) (?:side |current |main |new )?project(?: right now| these days| at the moment)?(?: is|:)\s+(.+)/i,
      )))
  ) {
    const name = object(m[1]!);
    // The head is what comes before the first preposition: "an AJAX POST request to /api" is no project.
    const head = name.split(/\s+(?:to|for|about|with|in|on|from|of|that|at|into)\s+/)[0]!;
    if (PROJECT_NOUNS.test(head)) out.push({ kind: "project", value: name });
  }

  // Beliefs: general statements, not guesses about a bug ("I believe the error is…").
  if (
    !neg &&
    ((m = t.match(
      SELF_BELIEVE_RE,
    )) ||
      (m = t.match(/\b(?:big|firm|strong) believer in\s+(.+)/i)) ||
      (m = t.match(/^(?:i|we) value\s+(.+)/i)))
  ) {
    const s = clip(m[1]!, 14);
    if (
      !/^(?:the|this|that|it|its|it's|these|those|there|you|your|he|she|they|so|in|on)\b/i.test(s) &&
      s.split(" ").length >= 2
    ) {
      out.push({ kind: "belief", value: s });
    }
  }

  // Decisions and changes of habit.
  if (
    !neg &&
    (m = t.match(
      SELF_DECIDED_RE,
    ))
  ) {
    out.push({ kind: "decision", value: `Decided to ${clip(m[1]!.replace(TAIL, ""), 12).replace(/^to\s+/i, "")}` });
  } else if (
    (m = t.match(
      SELF_CHANGED_RE,
    ))
  ) {
    const obj = object(m[2]!);
    if (obj && !/^(?:it|that|this|the (?:script|process|server|app|job))\b/i.test(obj)) {
      out.push({ kind: "decision", value: `${m[1]!.toLowerCase().replace(/^./, (x) => x.toUpperCase())} ${obj}` });
    }
  }
  return out.filter((f) => f.value && f.value.length >= 2);
}

export function norm(s: string): string {
  const x = s.toLowerCase().replace(/^sis$/, "sister").replace(/^bro$/, "brother").replace(/^mum$/, "mom");
  return x.replace(/^neighbor$/, "neighbour");
}
