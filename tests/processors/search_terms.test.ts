// The keyword document a chunk is written with: the words a question can ask for, with their
// positions among all the words, in a form PostgreSQL reads as a tsvector within its limits.
import assert from "node:assert/strict";
import { searchable, searchDocument } from "../../shared/processors/search-terms.ts";
import { keywordQuery } from "../../shared/processors/chat-prompt.ts";
import { adminDb } from "../_support/platform.ts";

Deno.test("search document: title then text, lower case, the words a question can ask for at their positions", () => {
  const doc = searchDocument("Kyoto trip", "User: I'm planning a TRIP to Kyoto.");
  // "i", "m", "a" and "to" are counted (positions 4, 5, 7, 9) but not listed: no question asks for them.
  assert.equal(doc, "'kyoto':1,10 'trip':2,8 'user':3 'planning':6");
  assert.equal(searchDocument("", ""), "");
  assert.equal(searchDocument("", "the and with 42 ok"), "", "stop words and words of two characters");
  // NFKC and any script, as questions are split (a word of two characters in any script is not asked for).
  assert.equal(searchDocument("", "Ｃａｆé 東京 naïve 東京都"), "'café':1 'naïve':3 '東京都':4");
  for (const w of ["the", "are", "i", "to", "42"]) assert.equal(searchable(w), false, w);
  for (const w of ["kyoto", "café", "420", "東京都"]) assert.equal(searchable(w), true, w);
});

Deno.test("search document: within PostgreSQL's tsvector limits", () => {
  const many = searchDocument("", "word ".repeat(300));
  assert.equal(many.split(":")[1]!.split(",").length, 256, "a word keeps its first 256 positions");
  const far = searchDocument("", Array.from({ length: 17000 }, (_, i) => `w${i}`).join(" ") + " late late");
  assert.match(far, /'w16382':16383 /, "positions past 16,383 stay there");
  assert.match(far, /'late':16383$/, "and are not repeated");
  const long = searchDocument("", `short ${"a".repeat(2100)} end`);
  assert.equal(long, "'short':1 'end':3", "a word too long to index is left out, its position kept");
});

Deno.test("search document: PostgreSQL reads it, and a question's keywords find and rank it", async () => {
  const sql = adminDb(1);
  try {
    const text = "User: my sister Hana moved to Porto last spring; we visit the café every summer.";
    const whole = "Family news " + text;
    const doc = searchDocument("Family news", text);
    const [r] = await sql`select d::tsvector = d::tsvector::text::tsvector as stable,
        d::tsvector @@ to_tsquery('simple', ${keywordQuery("Where does Hana live? Porto?")}) as found,
        ts_rank_cd(d::tsvector, to_tsquery('simple', ${keywordQuery("sister Hana")})) as rank,
        ts_rank_cd(to_tsvector('simple', ${whole}), to_tsquery('simple', ${
      keywordQuery("sister Hana")
    })) as parsed_rank,
        d::tsvector @@ to_tsquery('simple', ${keywordQuery("Lisbon")}) as other,
        tsvector_to_array(d::tsvector) as words, tsvector_to_array(to_tsvector('simple', ${whole})) as parsed
      from (select ${doc}::text as d) x`;
    assert.equal(r!.stable, true);
    assert.equal(r!.found, true);
    assert.ok(Number(r!.rank) > 0, "positions rank adjacent words");
    assert.equal(r!.rank, r!.parsed_rank, "ranked as over the whole text: the positions are those of all its words");
    assert.equal(r!.other, false);
    assert.deepEqual(
      r!.words,
      (r!.parsed as string[]).filter(searchable),
      "plain prose: the parser's words a question can ask for",
    );
    const big = searchDocument("", "xyz ".repeat(17000) + "word ".repeat(300) + `${"a".repeat(2100)}`);
    const [b] = await sql`select length(${big}::tsvector) as n`;
    assert.equal(Number(b!.n), 2);
  } finally {
    await sql.end();
  }
});
