/**
 * How the person writes, measured over all their messages: length, questions, code (and in
 * which languages), emoji, politeness, the languages they write in, when they are active.
 */

export interface WritingStats {
  messages: number;
  conversations: number;
  medianChars: number;
  /** Share of messages that ask something (a "?" outside code). */
  questionRatio: number;
  /** Share of messages carrying code, a stack trace or a shell command. */
  codeShare: number;
  codeLanguages: { name: string; messages: number }[];
  emojiPerMessage: number;
  /** Share of messages with please / thanks / sorry. */
  politeness: number;
  /** Share of messages with casual markers (lol, gonna, hey, !!). */
  casual: number;
  /** Languages written in, by share of sentences that could be told apart. */
  languages: { name: string; share: number }[];
  /** Messages per month (YYYY-MM), oldest first. */
  months: { month: string; messages: number }[];
  /** Messages per hour of day (UTC), when message times are known. */
  hours: { hour: number; messages: number }[];
}

const CODE_LANGS: [string, RegExp][] = [
  [
    "Python",
    /```py(?:thon)?\b|\bdef \w+\(|\bimport \w+(?: as \w+)?\s*$|\bfrom \w+(?:\.\w+)* import\b|Traceback \(most recent call last\)|\bprint\(|\w+Error: /m,
  ],
  ["TypeScript", /```tsx?\b|\binterface \w+ \{|: (?:string|number|boolean)\b[;,)=]|\bas const\b/],
  [
    "JavaScript",
    /```(?:js|jsx|javascript)\b|\b(?:const|let|var) \w+ = |=> \{|\bconsole\.log\(|\bdocument\.\w+|\brequire\(['"]|\bmodule\.exports\b|\$\.ajax\(/,
  ],
  ["Rust", /```rust\b|\bfn \w+\(|\blet mut \b|\bimpl\b.*\{|\b(?:Vec|Option|Result)<|\bcargo (?:build|run|add)\b/],
  ["Go", /```go\b|\bfunc (?:\(\w+ \*?\w+\) )?\w+\(|\bpackage main\b|:= /],
  ["Java", /```java\b|\bpublic (?:static )?(?:class|void)\b|\bSystem\.out\.print|\bException in thread\b/],
  ["C#", /```(?:cs|csharp)\b|\busing System\b|\bConsole\.Write/],
  ["C/C++", /```(?:c|cpp|c\+\+)\b|#include\s*<|\bstd::|\bprintf\(|\bint main\(/],
  ["SQL", /```sql\b|\bSELECT\b[\s\S]+\bFROM\b|\bINSERT INTO\b|\bCREATE TABLE\b|\bALTER TABLE\b|\bUPDATE \w+ SET\b/],
  [
    "Shell",
    /```(?:sh|bash|shell|zsh)\b|^\s*\$ \w+|\b(?:sudo|apt-get|npm (?:i|install|run)|pip install|git (?:clone|commit|push|rebase|merge)|docker (?:run|build|compose)|kubectl \w+|chmod|curl -)\b/m,
  ],
  ["HTML/CSS", /```(?:html|css)\b|<(?:div|span|button|form|input|html|body)\b|\{\s*(?:display|color|margin|padding):/],
  ["PHP", /```php\b|<\?php|\$\w+->\w+/],
  ["Ruby", /```ruby\b|\bdef \w+\s*$|\bputs \b|\bend\s*$/m],
  ["YAML/JSON", /```(?:ya?ml|json)\b|^\s*[\w-]+:\s+[\w"'-].*$\n^\s*[\w-]+:/m],
];
const CODE =
  /```|^\s{4,}\S|[;{}]\s*$|\b(?:def|function|class|import|return|const|let|var|fn|func|public|#include|SELECT)\b.*[(){};=]|Traceback|\bat [\w$.<>]+ \(.*:\d+:\d+\)|\w+(?:Error|Exception): |^\s*\$ \w+/m;
const EMOJI = /\p{Extended_Pictographic}/gu;
const POLITE = /\b(?:please|pls|thanks|thank you|thx|ty|sorry|appreciate|cheers)\b/i;
const CASUAL = /\b(?:lol|lmao|haha|gonna|wanna|gotta|kinda|hey|yo|omg|btw|idk|tbh)\b|!!|\?\?/i;

/** Stop words per language: a sentence is the language whose words it uses most (≥ 2 hits). */
const LANG_WORDS: Record<string, Set<string>> = {
  English: new Set(
    "the and is are to of in it that for you with this what how can my i was not have on be do".split(" "),
  ),
  French: new Set("le la les et est je tu vous des une un pour pas que qui dans avec mon ma sur ce".split(" ")),
  Spanish: new Set("el la los las y es que de en un una por para con mi no se lo como pero".split(" ")),
  German: new Set("der die das und ist ich nicht mit ein eine zu den von für auf mein sie es wie".split(" ")),
  Portuguese: new Set("o a os as e é que de em um uma para com não meu minha por se do da".split(" ")),
  Italian: new Set("il lo la gli e è che di in un una per con non mio mia sono come ma".split(" ")),
  Dutch: new Set("de het een en is dat van in ik niet met voor op zijn je mijn".split(" ")),
};
const SCRIPTS: [string, RegExp][] = [
  ["Russian/Cyrillic", /\p{Script=Cyrillic}/u],
  ["Japanese", /[\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ["Chinese", /\p{Script=Han}/u],
  ["Korean", /\p{Script=Hangul}/u],
  ["Arabic", /\p{Script=Arabic}/u],
  ["Greek", /\p{Script=Greek}/u],
  ["Hebrew", /\p{Script=Hebrew}/u],
  ["Hindi", /\p{Script=Devanagari}/u],
];

export function languageOf(sentence: string): string | null {
  for (const [name, re] of SCRIPTS) if (re.test(sentence)) return name;
  const ws = sentence.toLowerCase().match(/\p{L}+/gu) ?? [];
  let best: string | null = null, bestN = 1;
  for (const [name, set] of Object.entries(LANG_WORDS)) {
    const n = ws.reduce((a, w) => a + (set.has(w) ? 1 : 0), 0);
    if (n > bestN) (best = name, bestN = n);
  }
  return best;
}

export function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

const ratio = (n: number, d: number) => (d ? Math.round((n / d) * 1000) / 1000 : 0);
const sortedCounts = <K>(m: Map<K, number>) => [...m].sort((a, b) => b[1] - a[1]);

export function writingStats(messages: { text: string; date: string | null; conversationId: string }[]): WritingStats {
  let q = 0, code = 0, emoji = 0, polite = 0, casual = 0;
  const langs = new Map<string, number>(), months = new Map<string, number>(), hours = new Map<number, number>();
  const codeLangs = new Map<string, number>();
  for (const m of messages) {
    const isCode = CODE.test(m.text);
    const prose = m.text.replace(/```[\s\S]*?(```|$)/g, " ");
    if (/\?/.test(prose.replace(/`[^`]*`/g, ""))) q++;
    if (isCode) {
      code++;
      for (const [name, re] of CODE_LANGS) if (re.test(m.text)) codeLangs.set(name, (codeLangs.get(name) ?? 0) + 1);
    }
    emoji += (prose.match(EMOJI) ?? []).length;
    if (POLITE.test(prose)) polite++;
    if (CASUAL.test(prose)) casual++;
    for (const s of prose.split(/(?<=[.!?。！？])\s+/)) {
      const l = s.length > 8 ? languageOf(s) : null;
      if (l) langs.set(l, (langs.get(l) ?? 0) + 1);
    }
    if (m.date && /^\d{4}-\d{2}/.test(m.date)) {
      months.set(m.date.slice(0, 7), (months.get(m.date.slice(0, 7)) ?? 0) + 1);
    }
    const hh = m.date?.match(/T(\d{2}):/);
    if (hh) hours.set(Number(hh[1]), (hours.get(Number(hh[1])) ?? 0) + 1);
  }
  const n = messages.length;
  const langTotal = [...langs.values()].reduce((a, b) => a + b, 0);
  return {
    messages: n,
    conversations: new Set(messages.map((m) => m.conversationId)).size,
    medianChars: median(messages.map((m) => m.text.length)),
    questionRatio: ratio(q, n),
    codeShare: ratio(code, n),
    codeLanguages: sortedCounts(codeLangs).map(([name, messages]) => ({ name, messages })),
    emojiPerMessage: ratio(emoji, n),
    politeness: ratio(polite, n),
    casual: ratio(casual, n),
    languages: sortedCounts(langs).map(([name, c]) => ({ name, share: ratio(c, langTotal) })),
    months: [...months].sort((a, b) => a[0].localeCompare(b[0])).map(([month, messages]) => ({ month, messages })),
    hours: [...hours].sort((a, b) => a[0] - b[0]).map(([hour, messages]) => ({ hour, messages })),
  };
}
