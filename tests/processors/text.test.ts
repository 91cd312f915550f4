// Shared text helpers: the one normalisation and the one FNV-1a every part of the system uses.
import assert from "node:assert/strict";
import { fnv1a, normText } from "../../shared/processors/text.ts";

Deno.test("normText: case, compatibility forms and punctuation runs fold; other scripts kept; non-strings empty", () => {
  assert.equal(normText("  Likes  TEA!! "), "likes tea");
  assert.equal(normText("ﬁne—Café"), "fine café", "NFKC folds the ligature; the dash is a separator");
  assert.equal(normText("東京で 雨"), "東京で 雨");
  assert.equal(normText(42), "");
  assert.equal(normText(null), "");
});

Deno.test("fnv1a: the published 32-bit FNV-1a test vectors", () => {
  assert.equal(fnv1a(""), 0x811c9dc5);
  assert.equal(fnv1a("a"), 0xe40c292c);
  assert.equal(fnv1a("foobar"), 0xbf9cf968);
});
