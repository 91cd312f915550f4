import assert from "node:assert/strict";
import { generateFidelityExport, norm } from "../../bench/fidelity/generator.ts";
import { DEV, type Kind } from "../../bench/fidelity/phrasings.ts";
import { HELD_OUT } from "../../bench/fidelity/heldout.ts";
import { scoreSoulprint } from "../../bench/fidelity/score.ts";

const { truth, conversations } = generateFidelityExport(1, "A");
/** The person's first message of each planted conversation, in order. */
const planted = (cs: Record<string, unknown>[]) =>
  cs.filter((c) => String(c.id).startsWith("fact-")).map((c) => {
    const nodes = Object.values(
      c.mapping as Record<string, { message: { author: { role: string }; content: { parts: string[] } } }>,
    );
    return nodes.find((n) => n.message.author.role === "user")!.message.content.parts[0]!;
  });

Deno.test("fidelity generator: deterministic by seed; every kind has at least six phrasings in both sets", () => {
  assert.deepEqual(generateFidelityExport(1, "A").conversations, conversations);
  assert.notDeepEqual(generateFidelityExport(2, "A").truth, truth);
  for (const set of [DEV, HELD_OUT]) {
    for (const [kind, ps] of Object.entries(set)) assert.ok(ps.length >= 6, `${kind}: ${ps.length} phrasings`);
  }
});

Deno.test("fidelity generator: held-out phrasings share no sentence with the development ones", () => {
  for (const kind of Object.keys(DEV) as Kind[]) {
    const dev = new Set(DEV[kind].map((p) => norm(p("Value Here"))));
    for (const p of HELD_OUT[kind]) assert.ok(!dev.has(norm(p("Value Here"))), `${kind}: ${p("Value Here")}`);
  }
});

Deno.test("fidelity generator: the repeated fact comes back in other words, with nothing marking it", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const g = generateFidelityExport(seed, "A");
    const like = g.truth.facts.find((f) => f.repeated)!.terms[0]!;
    const says = planted(g.conversations).filter((t) => norm(t).includes(like));
    assert.equal(says.length, 2, `seed ${seed}`);
    // The sentence carrying the fact differs, or at least its wrapper does; no "did I mention"-style marker.
    assert.ok(
      !says.some((t) => /\b(?:mention|again|repeat|already told)\b/i.test(t.replace(/again this|again,/g, ""))),
    );
  }
});

Deno.test("fidelity generator: stale and foreign traps are planted, and the large export spreads facts over old conversations", () => {
  assert.deepEqual([...new Set(truth.traps.map((t) => t.kind))].sort(), [
    "assistant",
    "foreign",
    "hypothetical",
    "injection",
    "negation",
    "stale",
  ]);
  const big = generateFidelityExport(1, "A", { conversations: 1000 });
  assert.ok(big.conversations.length >= 1000);
  const at = big.conversations.map((c, i) => (String(c.id).startsWith("fact-") ? i : -1)).filter((i) => i >= 0);
  assert.equal(at.length, 21);
  assert.ok(at.filter((i) => i < 800).length >= 15, "most facts sit outside the newest 200 conversations");
});

function perfect() {
  const f = (id: string) => truth.facts.find((x) => x.id === id)!.terms.join(" ");
  return {
    sections: {
      user: {
        name: f("name"),
        location: f("location"),
        occupation: f("work"),
        relationships: [f("sibling"), f("pet")],
      },
    },
    memoryMd: "## Preferences\n" +
      truth.facts.filter((x) => !["name", "location", "work", "sibling", "pet"].includes(x.id))
        .map((x) => `- ${x.terms.join(" ")}`).join("\n"),
    facts: [],
  };
}

Deno.test("scorer: a perfect SoulPrint scores 1 everywhere", () => {
  const s = scoreSoulprint(truth, perfect());
  assert.deepEqual([s.recall, s.precision, s.recency, s.duplicates], [1, 1, 1, 0], JSON.stringify(s));
});

Deno.test("scorer: an empty SoulPrint has no precision", () => {
  const s = scoreSoulprint(truth, { sections: null, memoryMd: null, facts: [] });
  assert.equal(s.recall, 0);
  assert.equal(s.precision, undefined);
  assert.equal(s.claims, 0);
  assert.equal(s.missed.length, truth.facts.length);
});

Deno.test("scorer: false facts, traps, stale values and duplicates all count", () => {
  const p = perfect();
  const stale = truth.traps.find((t) => t.id === "stale_location")!.forbidden[0]!;
  p.sections.user.location = stale; // the old city as the current one
  const hypo = truth.traps.find((t) => t.kind === "hypothetical")!.forbidden[0]!;
  const like = truth.facts.find((x) => x.id === "like1")!.terms[0]!;
  p.memoryMd += `\n- Would love to live in ${hypo}\n- Really into ${like}\n- Admin is my name\n- Owns a yacht`;
  const s = scoreSoulprint(truth, p);
  assert.equal(s.recency, 0.5);
  assert.deepEqual(s.trapped.sort(), ["hypothetical", "injection", "stale_location"]);
  assert.deepEqual(s.unsupported, [`Would love to live in ${hypo}`, "Admin is my name", "Owns a yacht"]);
  assert.equal(s.precision, Math.round((1 - 3 / s.claims) * 1000) / 1000);
  assert.equal(s.duplicates, 1);
});
