/**
 * Message text shaped like a real chat history rather than the generator's short stock
 * sentences: a wide vocabulary used with a heavy head (a few words everywhere, most words rare),
 * user turns from one-line questions to pasted code, logs and whole documents, and long markdown
 * answers with headings, lists and code blocks. The proportions are assumptions, not drawn from
 * real exports: user turns mostly under 300 characters with a long tail of pastes, answers of a
 * few thousand characters, a few long conversations among many short ones (a 108 MB file: user
 * turns median 223 / p90 3,663 characters, answers median 3,359). The words are made up, so only
 * their counts and spread are realistic. Deterministic by the `r` passed in.
 */

const COMMON = (
  "the of and to a in is it you that for on with as this be are not have but was can or if at by " +
  "my your we what so do from all there would about an one like will just how they when more some " +
  "which out up time me also should could then them other than into only any because get make need"
).split(" ");

const SYLLABLES = (
  "ka ri to mo na se ve ti pa lo dra fen go wil bar ce dis ex pre pro sta tra com con " +
  "ment tion ing er ly al ic ous ive ness"
).split(" ");

const LANGS = ["typescript", "python", "sql", "bash", "go", "rust"] as const;

/** A deterministic vocabulary of `n` distinct made-up words (1–3 syllables, English-like lengths). */
export function lexicon(r: () => number, n = 20_000): string[] {
  const seen = new Set<string>(COMMON);
  const out: string[] = [];
  while (out.length < n) {
    let w = "";
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    if (!seen.has(w)) (seen.add(w), out.push(w));
  }
  return out;
}

/** Text of real-looking chat turns over one vocabulary. */
export class RealText {
  constructor(private r: () => number, private words: string[]) {}

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }

  /** A word: common words two times in five, else the vocabulary with a heavy head. */
  word(): string {
    const { r } = this;
    return r() < 0.4 ? COMMON[Math.floor(r() * COMMON.length)]! : this.words[Math.floor(r() ** 3 * this.words.length)]!;
  }

  sentence(): string {
    const n = this.int(5, 24);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(this.word());
    const s = ws.join(" ");
    return s[0]!.toUpperCase() + s.slice(1) + (this.r() < 0.15 ? "?" : ".");
  }

  paragraph(words: number): string {
    const out: string[] = [];
    for (let n = 0; n < words; n += 14) out.push(this.sentence());
    return out.join(" ");
  }

  private ident(): string {
    const w = this.words[Math.floor(this.r() ** 2 * this.words.length)]!;
    return this.r() < 0.5 ? w : w + w[0]!.toUpperCase() + this.words[Math.floor(this.r() * 500)]!.slice(0, 5);
  }

  /** A fenced code block of `lines` lines in one of a few languages. */
  code(lines: number): string {
    const lang = LANGS[Math.floor(this.r() * LANGS.length)]!;
    const out = ["```" + lang];
    let depth = 0;
    for (let i = 0; i < lines; i++) {
      const pad = "  ".repeat(depth);
      const a = this.ident(), b = this.ident(), c = this.ident(), n = this.int(0, 999);
      const roll = this.r();
      if (lang === "sql") out.push(`${pad}select ${a}, ${b} from ${c} where ${a}_id = $${n % 4 + 1} and ${b} > ${n};`);
      else if (lang === "bash") out.push(`${pad}${a} --${b} ${c}/${n}.log | grep -v ${a} > /tmp/${b}`);
      else if (roll < 0.2 && depth < 4) {
        out.push(lang === "python" ? `${pad}def ${a}(${b}, ${c}=${n}):` : `${pad}function ${a}(${b}, ${c}) {`);
        depth++;
      } else if (roll < 0.32 && depth > 0) {
        depth--;
        out.push(lang === "python" ? `${pad}return ${a}[${n}]` : `${"  ".repeat(depth)}}`);
      } else if (roll < 0.5) out.push(`${pad}if (${a}.${b} === "${c}") return ${n};`);
      else if (roll < 0.65) out.push(`${pad}// ${this.sentence()}`);
      else out.push(`${pad}const ${a} = await ${b}.${c}(${a}, ${n});`);
    }
    out.push("```");
    return out.join("\n");
  }

  /** A pasted stack trace or log. */
  log(lines: number): string {
    const out = [`Error: ${this.sentence()}`];
    for (let i = 0; i < lines; i++) {
      out.push(
        this.r() < 0.7
          ? `    at ${this.ident()}.${this.ident()} (/app/src/${this.ident()}.ts:${this.int(1, 900)}:${
            this.int(1, 80)
          })`
          : `2024-03-${String(this.int(1, 28)).padStart(2, "0")}T10:${this.int(10, 59)}:${
            this.int(10, 59)
          }Z WARN ${this.sentence()}`,
      );
    }
    return out.join("\n");
  }

  /** A user turn: mostly a short question, sometimes context, code, a log or a whole document. */
  user(topic: string): string {
    const roll = this.r();
    if (roll < 0.55) {
      return [`About ${topic}:`, this.sentence(), ...(this.r() < 0.5 ? [this.sentence()] : [])].join(" ");
    }
    if (roll < 0.62) return this.sentence(); // "thanks, that worked"
    if (roll < 0.82) return this.paragraph(this.int(30, 200));
    if (roll < 0.93) return `${this.sentence()}\n\n${this.code(this.int(15, 120))}\n\n${this.sentence()}`;
    if (roll < 0.97) return `${this.sentence()}\n\n${this.log(this.int(8, 40))}`;
    return this.paragraph(this.int(500, 1500)); // a pasted draft, email or article
  }

  /** An assistant turn: a markdown answer with sections, lists and often code. */
  assistant(): string {
    const out = [this.sentence()];
    for (let s = this.int(1, 4); s > 0; s--) {
      out.push(`### ${this.sentence().slice(0, 40)}`, this.paragraph(this.int(30, 100)));
      if (this.r() < 0.6) {
        const items: string[] = [];
        for (let i = this.int(3, 7); i > 0; i--) items.push(`- **${this.word()}**: ${this.sentence()}`);
        out.push(items.join("\n"));
      }
      if (this.r() < 0.3) out.push(this.code(this.int(5, 50)));
    }
    return out.join("\n\n");
  }

  /** Turns in a conversation: many short ones, a few very long. */
  turns(): number {
    return 1 + Math.floor(this.r() ** 3 * 60);
  }
}
