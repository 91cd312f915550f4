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
 */
import { words } from "./hash-embedding.ts";

/** tsvector limits: the highest position, positions kept per word, longest word (UTF-8 bytes). */
const MAX_POSITION = 16383;
const MAX_POSITIONS_PER_WORD = 256;
const MAX_WORD_BYTES = 2047;

/**
 * The tsvector text (`'word':1,7 'other':2 …`) of `title` followed by `content`, positions
 * counted in words from 1 as to_tsvector counts them (past 16,383 they stay at 16,383, as
 * PostgreSQL keeps them; a word keeps its first 256). Words are letters and digits only, so none
 * needs quoting inside the quotes. A word longer than PostgreSQL indexes is left out, as
 * to_tsvector leaves it out.
 */
export function searchDocument(title: string, content: string): string {
  const positions = new Map<string, number[]>();
  let pos = 0;
  for (const text of [title, content]) {
    for (const w of words(text)) {
      pos++;
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
