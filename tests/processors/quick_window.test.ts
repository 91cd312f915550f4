// The order of the quick pass's first window, and the order real and generated exports use.
import assert from "node:assert/strict";
import { windowOrder } from "../../shared/processors/quick-window.ts";

const at = (read: number, day: number) => ({
  read_at: new Date(Date.UTC(2026, 0, 1, 0, 0, read)).toISOString(),
  created_at: new Date(Date.UTC(2024, 0, day)).toISOString(),
});

Deno.test("windowOrder: judges newest-first and oldest-first from the first and last ingest steps", () => {
  assert.equal(windowOrder([at(1, 30), at(1, 29), at(2, 20), at(2, 19), at(3, 10)]), "newest-first");
  assert.equal(windowOrder([at(1, 1), at(1, 2), at(2, 10), at(3, 20), at(3, 21)]), "oldest-first");
});

Deno.test("windowOrder: one ingest step, equal medians or no dates is unknown", () => {
  assert.equal(windowOrder([at(1, 1), at(1, 20), at(1, 3)]), "unknown");
  assert.equal(windowOrder([at(1, 5), at(2, 5)]), "unknown");
  assert.equal(windowOrder([{ read_at: "a", created_at: "x" }, { read_at: "b", created_at: "y" }]), "unknown");
  assert.equal(windowOrder([]), "unknown");
});

Deno.test("export order: the real ChatGPT fixture lists newest first, the hand-made one oldest first", async () => {
  const times = async (f: string) =>
    (JSON.parse(await Deno.readTextFile(new URL(`../fixtures/exports/${f}`, import.meta.url))) as {
      create_time: number;
    }[]).map((c) => c.create_time);
  const real = await times("chatgpt-export.json");
  assert.deepEqual(real, [...real].sort((a, b) => b - a));
  const made = await times("chatgpt-modern-export.json");
  assert.deepEqual(made, [...made].sort((a, b) => a - b));
});
