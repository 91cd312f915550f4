import assert from "node:assert/strict";
import { generateFidelityExport } from "../../shared/processors/fidelity/generator.ts";
import { scoreSoulprint } from "../../shared/processors/fidelity/score.ts";

const { truth, conversations } = generateFidelityExport(1, "A");

Deno.test("fidelity generator: deterministic by seed, different per template set, traps labelled", () => {
  assert.deepEqual(generateFidelityExport(1, "A").conversations, conversations);
  assert.notDeepEqual(generateFidelityExport(2, "A").truth, truth);
  const b = generateFidelityExport(1, "B");
  const text = (cs: unknown[]) => JSON.stringify(cs);
  assert.ok(
    !text(b.conversations).includes("My name is") || text(b.conversations).includes("Call me"),
    "B phrases differently",
  );
  assert.deepEqual(truth.traps.map((t) => t.kind).sort(), [
    "assistant",
    "hypothetical",
    "injection",
    "negation",
    "other_person",
  ]);
  assert.ok(truth.facts.some((f) => f.current) && truth.facts.some((f) => f.repeated));
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

Deno.test("scorer: an empty SoulPrint remembers nothing but falls for no trap", () => {
  const s = scoreSoulprint(truth, { sections: null, memoryMd: null, facts: [] });
  assert.equal(s.recall, 0);
  assert.equal(s.precision, 1);
  assert.equal(s.recency, 0);
  assert.equal(s.missed.length, truth.facts.length);
});

Deno.test("scorer: traps, stale values and duplicates are counted", () => {
  const p = perfect();
  const loc = truth.facts.find((x) => x.id === "location")!;
  p.sections.user.location = loc.current!.stale[0]!; // the old city
  const hypo = truth.traps.find((t) => t.kind === "hypothetical")!.forbidden[0]!;
  const like = truth.facts.find((x) => x.id === "like1")!.terms[0]!;
  p.memoryMd += `\n- Would love to live in ${hypo}\n- Really into ${like}\n- Admin is my name`;
  const s = scoreSoulprint(truth, p);
  assert.equal(s.recency, 0.5);
  assert.deepEqual(s.trapped.sort(), ["hypothetical", "injection"]);
  assert.equal(s.precision, 0.6);
  assert.equal(s.duplicates, 1);
});
