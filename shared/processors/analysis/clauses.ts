/**
 * Clauses of what a person wrote, classified by shape rather than by wording: who the subject
 * is (I, we, nobody — "Moved to Porto in May" — or someone else), whether it is asked, negated,
 * hypothetical, or an instruction aimed at whoever reads it. Pure string work, no tagger: the
 * analyser runs inside a 2 s CPU budget.
 */

export type Subject = "i" | "we" | "none" | "other";

export interface Clause {
  text: string;
  subject: Subject;
  question: boolean;
  negated: boolean;
  hypothetical: boolean;
  /** The clause opens its message (subject-less clauses count only there or after a full stop). */
  sentenceStart: boolean;
}

/** Code, URLs, paths and stack frames say nothing about the person's life. */
export function stripCode(text: string): string {
  return text
    .replace(/```[\s\S]*?(```|$)/g, " ")
    .replace(/`[^`\n]*`/g, " ")
    .replace(/\bhttps?:\/\/\S+/g, " ")
    .replace(/^\s*(at |File "|Traceback|\s{4}).*$/gm, " ");
}

/** Sentences: split after . ! ? (and line breaks), keeping the mark; abbreviations are rare in chat. */
export function sentences(text: string): string[] {
  return stripCode(text)
    .split(/(?<=[.!?…])\s+(?=["'(]?[^\p{Ll}\s,;:)])|(?<=[。！？])\s*|\n+/u)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Openers that carry no content: "Anyway,", "Quick note for later:", "Big news:", "Update:". */
const OPENER =
  /^(?:(?:anyway|anyways|btw|by the way|also|oh|so|well|ok|okay|honestly|actually|fyi|ps|update|news|big news|quick note(?: for later)?|quick question|fun fact|for context|context|side note|edit)\b[,:!—–-]*\s*)+/i;

const QUESTION_START =
  /^(?:what|how|why|where|when|which|who|whom|whose|do|does|did|is|are|was|were|can|could|would|should|will|shall|may|might|have|has|am|isn't|aren't|don't|doesn't|won't|wouldn't|shouldn't|couldn't|any idea)(?=\s)/i;
const HYPOTHETICAL =
  /\b(?:if|imagine|imagining|suppose|supposing|pretend|what if|would|wouldn't|could|might|wish|hoping to|someday|one day|thinking (?:about|of)|considering|maybe|dream(?:ing)? of|in another life|should i|should we)\b|\b(?:i|we)'d\b/i;
const NEGATION = /\b(?:not|no|never|no longer|n't|nothing|neither|nor|anymore|used to)\b|n't\b/i;
const FIRST = /^(?:i|i'm|i've|i'd|i'll|im|ive|me|my|mine|myself)\b/i;
const PLURAL = /^(?:we|we're|we've|we'd|we'll|us|our|ours|ourselves)\b/i;
/** Subjects that are someone else: pronouns, "my friend Tom", "Tom's family", a capitalised name + verb. */
const OTHER =
  /^(?:he|she|they|he's|she's|they're|it|it's|this|that|there|you|your|you're|(?:my|our)\s+(?:\w+\s+)?(?:friend|friends|cousin|cousins|brother|sister|mom|mum|mother|dad|father|boss|colleague|colleagues|coworker|neighbou?rs?|partner|wife|husband|son|daughter|kids?|parents|aunt|uncle|team|manager|roommate|flatmate|family)\b(?!\s*\w*\s*(?:is called|'s name|named|called))|\p{Lu}\p{Ll}+(?:'s)?\s+(?:\p{Ll}+\s+)?(?:lives|moved|works|is|was|has|loves|likes|grew|just|family|relocated))/iu;
/** Verbs that open a subject-less self-statement ("Moved to…", "Working on…", "Love…", "Been…"). */
const BARE_VERB =
  /^(?:(?:just|finally|recently|still|also|now|really|totally|absolutely)\s+)*(?:moved|relocated|live|living|based|work|working|worked|started|start|began|quit|left|joined|switched|became|been|got|gave up|decided|adopted|love|loving|like|enjoy|adore|hate|can't stand|cannot stand|don't|do not|never|not|big fan|huge fan|not a fan|hooked|obsessed|crazy about|keen on|fond of|firmly|strongly|truly|always|building|making|writing|developing|hacking|training|learning|studying|born|turned|turning|vegetarian|vegan|allergic|married|engaged|retired|signed up|picked up|took up|sold|bought)\b/i;

const LEAD = /^(?:and|but|so|because|though|although|while|which|then|if)\s+/i;

/** Clauses of one sentence: split at ; — and at conjunctions that start a new statement. */
export function clausesOf(sentence: string, sentenceStart: boolean): Clause[] {
  const question = /\?\s*$/.test(sentence);
  const parts = sentence
    .replace(OPENER, "")
    .split(
      /\s*[;—–]\s*|\s+-\s+|,\s*(?=(?:and|but|so|because|though|although|while|which|since|then|if)\s)|,\s*(?=(?:I|we|We)(?:'m|'ve|'d|'ll|'re)?\s)|,\s*(?=(?:what|how|why|where|when|which|who|do|does|did|is|are|can|could|would|should|will|any)\b[^,]*\?\s*$)|:\s+/i,
    )
    .map((p) => p.replace(OPENER, "").trim())
    .filter(Boolean);
  let inHypothetical = false;
  return parts.map((raw, i) => {
    const text = raw.replace(LEAD, "").replace(
      /[.!?…]+$/,
      "",
    );
    const hyp = HYPOTHETICAL.test(text) || (inHypothetical && /\b(?:i|we)\b/i.test(text));
    inHypothetical = /^(?:if|imagine|suppose|what if)\b/i.test(text) || (inHypothetical && hyp);
    // The subject of "since we moved…", "now that I'm…" is the one after the subordinator.
    const core = text.replace(
      /^(?:ever since|since|because|as|now that|when|after|before|although|though|once)\s+/i,
      "",
    );
    const subject: Subject = /^(?:my|our)\s/i.test(core) && OTHER.test(core)
      ? "other"
      : FIRST.test(core)
      ? "i"
      : PLURAL.test(core)
      ? "we"
      : OTHER.test(core)
      ? "other"
      : BARE_VERB.test(core)
      ? "none"
      : /\b(?:i|i'm|i've|we|we're|we've|my|our)\b/i.test(text)
      ? "i"
      : "other";
    return {
      text,
      subject,
      // A question is the clause that asks; a statement before "…, what should I pack?" stays a statement.
      question: question &&
        (i === parts.length - 1 ||
          QUESTION_START.test(text) && !parts.slice(i + 1).some((p) => QUESTION_START.test(p.replace(LEAD, "")))),
      negated: NEGATION.test(text),
      hypothetical: hyp,
      sentenceStart: sentenceStart && i === 0,
    };
  });
}

/** Every clause of a message, in order. */
export function clausesOfMessage(text: string): Clause[] {
  return sentences(text).flatMap((s) => clausesOf(s, true));
}
