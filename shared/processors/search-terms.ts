/**
 * A chunk's keyword-search document, made by the chunk writer instead of the database.
 *
 * The chunk's `fts` column holds the words of its title and text with their positions (a
 * tsvector, ranked by ts_rank_cd). PostgreSQL's own to_tsvector('simple', …) reads ~10 MB/s on one
 * core: over a 1 GB export's 320 MB of chunk text, half a minute of the database's CPU in the
 * chunk stage. Splitting words here costs the function a few seconds, and the database only
 * reads the finished list (about 5x faster than parsing the text itself).
 *
 * The words are the ones keyword search asks for: lower case, NFKC, runs of letters or digits in
 * any script (chat-prompt.ts `keywordQuery` splits a message the same way), so a word reaches
 * its chunks exactly when a question can name it. PostgreSQL's parser also made tokens no
 * question ever produced (whole e-mail addresses, host names, "3.14"): here their parts are
 * words, which questions do name.
 *
 * Only words a search can ask for are listed ({@link searchable}: longer than two characters and
 * not a stop word), at the positions they hold among all the words, so cover-density ranking of
 * a question's words is what it would be over the whole text. Every word listed is an entry of
 * the keyword index, written with each chunk; the rest ("the", "is", "a", a number of two digits)
 * were 27 % of the distinct words of 8,000-character windows of English documentation, and 11 %
 * of a real-shaped export's chunks (its words are made up), whose writes then took 10-14 % less.
 */
import { words } from "./hash-embedding.ts";

/** Words no question searches for (chat-prompt.ts `keywordQuery` drops them from a question). */
const QUERY_STOP_WORDS = new Set([
  "the",
  "and",
  "for",
  "are",
  "but",
  "not",
  "you",
  "your",
  "with",
  "what",
  "when",
  "where",
  "who",
  "how",
  "why",
  "was",
  "were",
  "did",
  "does",
  "have",
  "has",
  "had",
  "this",
  "that",
  "these",
  "those",
  "from",
  "about",
  "into",
  "can",
  "could",
  "would",
  "should",
  "will",
  "just",
  "me",
  "my",
  "mine",
  "our",
  "its",
  "it's",
  "i'm",
  "again",
  "tell",
  "remember",
  "know",
  "any",
  "all",
  "there",
  "their",
  "them",
  "they",
  "then",
  "than",
  "which",
  "also",
  "very",
  "some",
]);

/** Whether keyword search asks for `word` (lower case): longer than two characters, not a stop word. */
export const searchable = (word: string): boolean => word.length > 2 && !QUERY_STOP_WORDS.has(word);

/** tsvector limits: the highest position, positions kept per word, longest word (UTF-8 bytes). */
const MAX_POSITION = 16383;
const MAX_POSITIONS_PER_WORD = 256;
const MAX_WORD_BYTES = 2047;

/**
 * The tsvector text (`'word':1,7 'other':2 …`) of the searchable words of `title` followed by
 * `content`, positions counted over all the words from 1 as to_tsvector counts them (past 16,383
 * they stay at 16,383, as PostgreSQL keeps them; a word keeps its first 256). Words are letters
 * and digits only, so none needs quoting inside the quotes. A word longer than PostgreSQL
 * indexes is left out, as to_tsvector leaves it out.
 */
export function searchDocument(title: string, content: string): string {
  const positions = new Map<string, number[]>();
  let pos = 0;
  for (const text of [title, content]) {
    for (const w of words(text)) {
      pos++;
      if (!searchable(w)) continue;
      // A UTF-16 code unit is at most 3 UTF-8 bytes: only a long word needs its bytes counted.
      if (w.length * 3 > MAX_WORD_BYTES && new TextEncoder().encode(w).length > MAX_WORD_BYTES) continue;
      const at = positions.get(w);
      const p = pos < MAX_POSITION ? pos : MAX_POSITION;
      if (!at) positions.set(w, [p]);
      else if (at.length < MAX_POSITIONS_PER_WORD && at[at.length - 1] !== p) at.push(p);
    }
  }
  let out = "";
  for (const [w, at] of positions) out += `${out ? " " : ""}'${w}':${at.join(",")}`;
  return out;
}
