// The keyword document a chunk is written with: the words a question is split into, with
// positions, in a form PostgreSQL reads as a tsvector within its limits.
import assert from "node:assert/strict";
import { searchDocument } from "../../shared/processors/search-terms.ts";
import { keywordQuery } from "../../shared/processors/chat-prompt.ts";
import { adminDb } from "../_support/platform.ts";

Deno.test("search document: title then text, lower case, positions from 1", () => {
  const doc = searchDocument("Kyoto trip", "User: I'm planning a TRIP to Kyoto.");
  assert.equal(doc, "'kyoto':1,10 'trip':2,8 'user':3 'i':4 'm':5 'planning':6 'a':7 'to':9");
  assert.equal(searchDocument("", ""), "");
  // NFKC and any script, as questions are split.
  assert.equal(searchDocument("", "Ｃａｆé 東京 naïve"), "'café':1 '東京':2 'naïve':3");
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
    const doc = searchDocument("Family news", text);
    const [r] = await sql`select d::tsvector = d::tsvector::text::tsvector as stable,
        d::tsvector @@ to_tsquery('simple', ${keywordQuery("Where does Hana live? Porto?")}) as found,
        ts_rank_cd(d::tsvector, to_tsquery('simple', ${keywordQuery("sister Hana")})) as rank,
        d::tsvector @@ to_tsquery('simple', ${keywordQuery("Lisbon")}) as other,
        tsvector_to_array(d::tsvector) = tsvector_to_array(to_tsvector('simple', ${"Family news " + text})) as same_words
      from (select ${doc}::text as d) x`;
    assert.equal(r!.stable, true);
    assert.equal(r!.found, true);
    assert.ok(Number(r!.rank) > 0, "positions rank adjacent words");
    assert.equal(r!.other, false);
    assert.equal(r!.same_words, true, "plain prose: the same words PostgreSQL's parser finds");
    const big = searchDocument("", "x ".repeat(17000) + "word ".repeat(300) + `${"a".repeat(2100)}`);
    const [b] = await sql`select length(${big}::tsvector) as n`;
    assert.equal(Number(b!.n), 2);
  } finally {
    await sql.end();
  }
});
