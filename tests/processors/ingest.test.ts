// Ingest processors on the public fixtures and on generated exports, in memory.
import assert from "node:assert/strict";
import { gzip } from "pako";
import { generateExport } from "../../tools/export-generator.ts";
import {
  emptyImportError,
  type IngestCursor,
  ingestSlice,
  type OrderedConversation,
  parseElements,
  scanSlice,
  type SliceResult,
} from "../../shared/processors/ingest/slice.ts";
import type { CanonicalConversation, IngestWarning } from "../../shared/processors/ingest/types.ts";
import { ElementScanner } from "../../shared/processors/ingest/scan.ts";
import { zipEntry } from "../../tools/zip-writer.ts";
import { BAD_INPUTS, buildZip, chatgpt } from "../fixtures/bad_inputs.ts";

const FIXTURES = new URL("../fixtures/exports/", import.meta.url);
const enc = new TextEncoder();
const UPLOADED = "2026-01-01T00:00:00.000Z";

async function zipOf(
  name: string,
  data: Uint8Array,
  extra: { name: string; data: Uint8Array }[] = [],
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of zipEntry(name, [data], 6, extra)) parts.push(p);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

/** Runs every slice of an upload; returns all conversations and warnings. */
async function ingestAll(data: Uint8Array, sliceBytes?: number, maxElementBytes?: number) {
  const read = (s: number, e: number) => Promise.resolve(data.slice(s, e));
  let cursor: IngestCursor | null = null;
  const conversations: CanonicalConversation[] = [];
  const warningList: IngestWarning[] = [];
  const sliceSizes: number[] = [];
  let last: SliceResult;
  do {
    last = await ingestSlice(read, data.length, cursor, { fallbackTime: UPLOADED, sliceBytes, maxElementBytes });
    conversations.push(...last.conversations);
    warningList.push(...last.warnings);
    sliceSizes.push(last.bytes);
    cursor = last.next ? JSON.parse(JSON.stringify(last.next)) : null; // cursors survive a JSON round trip
  } while (cursor);
  return {
    conversations,
    warnings: warningList.length,
    warningList,
    slices: sliceSizes.length,
    sliceSizes,
    kind: last.kind,
    format: last.format,
  };
}

const countCodes = (ws: IngestWarning[]) =>
  ws.reduce<Record<string, number>>((a, w) => (a[w.code] = (a[w.code] ?? 0) + 1, a), {});

const KEPT: Record<string, { perConversation: number[]; warnings: number }> = {
  "chatgpt-export.json": { perConversation: [6, 4], warnings: 0 },
  "chatgpt-tree.json": { perConversation: [6], warnings: 0 },
  "chatgpt-citations.json": { perConversation: [1], warnings: 0 },
  "chatgpt-modern-export.json": { perConversation: [4, 2], warnings: 1 },
};

for (const [file, want] of Object.entries(KEPT)) {
  Deno.test(`fixture ${file}: kept conversations and messages, in every container`, async () => {
    const json = await Deno.readFile(new URL(file, FIXTURES));
    const wrapped = enc.encode(`{"conversations":${new TextDecoder().decode(json)}}`);
    const variants: Record<string, Uint8Array> = {
      json,
      wrapped,
      gzip: gzip(json),
      zip: await zipOf("conversations.json", json, [{ name: "chat.html", data: enc.encode("<html></html>") }]),
      "zip in a folder": await zipOf("export-2024/conversations.json", json),
    };
    for (const [name, data] of Object.entries(variants)) {
      const r = await ingestAll(data);
      assert.deepEqual(r.conversations.map((c) => c.messages.length), want.perConversation, `${file} as ${name}`);
      assert.equal(r.warnings, want.warnings, `${file} as ${name}: warnings`);
      assert.equal(r.kind, "chatgpt");
    }
  });
}

Deno.test("ChatGPT rules: the current_node thread, no tool/hidden/thought content, UTC timestamps", async () => {
  const tree = (await ingestAll(await Deno.readFile(new URL("chatgpt-tree.json", FIXTURES)))).conversations[0]!;
  const texts = tree.messages.map((m) => m.content);
  assert.ok(texts.includes("hi again"), "the edited branch the user kept");
  assert.ok(!texts.includes("so cool bro"), "not the abandoned branch");
  const web = (await ingestAll(await Deno.readFile(new URL("chatgpt-export.json", FIXTURES)))).conversations[0]!;
  assert.ok(web.messages.every((m) => m.role === "user" || m.role === "assistant"));
  assert.match(web.created_at, /^2024-01-07T\d\d:\d\d:\d\d\.\d{3}Z$/);
  const modern = (await ingestAll(await Deno.readFile(new URL("chatgpt-modern-export.json", FIXTURES)))).conversations;
  assert.ok(
    !modern.flatMap((c) => c.messages).some((m) => m.content.includes("The user is an SRE")),
    "custom instructions dropped",
  );
  assert.ok(modern.flatMap((c) => c.messages).some((m) => m.content === "Puttanesca."));
  assert.equal(modern[0]!.model, "o4-mini");
});

Deno.test("Claude.ai export: text blocks only, newest branch, human -> user", async () => {
  const claude = [{
    uuid: "c1",
    name: "Trip",
    created_at: "2025-03-01T10:00:00Z",
    updated_at: "2025-03-01T11:00:00Z",
    chat_messages: [
      {
        uuid: "m1",
        sender: "human",
        text: "Plan Kyoto",
        content: [{ type: "text", text: "Plan Kyoto" }],
        created_at: "2025-03-01T10:00:00Z",
        parent_message_uuid: "00000000-0000-4000-8000-000000000000",
      },
      {
        uuid: "m2",
        sender: "assistant",
        text: "hmm Day 1",
        content: [{ type: "thinking", thinking: "hmm" }, { type: "text", text: "Day 1" }],
        created_at: "2025-03-01T10:01:00Z",
        parent_message_uuid: "m1",
      },
      {
        uuid: "m3",
        sender: "assistant",
        text: "Old answer",
        content: [{ type: "text", text: "Old answer" }],
        created_at: "2025-03-01T10:00:30Z",
        parent_message_uuid: "m1",
      },
    ],
  }, { uuid: "c2", name: "Empty", chat_messages: [] }];
  const r = await ingestAll(await zipOf("data-2025/conversations.json", enc.encode(JSON.stringify(claude))));
  assert.equal(r.kind, "claude");
  assert.equal(r.warnings, 1);
  assert.deepEqual(r.conversations[0]!.messages.map((m) => [m.role, m.content]), [["user", "Plan Kyoto"], [
    "assistant",
    "Day 1",
  ]]);
  assert.equal(r.conversations[0]!.created_at, "2025-03-01T10:00:00.000Z");
});

Deno.test("broken conversations are skipped and counted; timestamps fall back to the upload time", async () => {
  const convs = [
    {
      id: "ok",
      title: "Fine",
      mapping: {
        r: { id: "r", message: null, parent: null, children: ["a"] },
        a: {
          id: "a",
          parent: "r",
          children: [],
          message: { author: { role: "user" }, content: { content_type: "text", parts: ["hello"] } },
        },
      },
      current_node: "a",
    },
    { id: "nomap", title: "No mapping" },
    {
      id: "cycle",
      title: "Cycle",
      mapping: {
        a: { id: "a", parent: "b", children: ["b"], message: null },
        b: { id: "b", parent: "a", children: ["a"], message: null },
      },
    },
    "not an object",
  ];
  const r = await ingestAll(enc.encode(JSON.stringify(convs)));
  assert.deepEqual(r.conversations.map((c) => c.id), ["ok"]);
  assert.equal(r.warnings, 3);
  assert.equal(r.conversations[0]!.created_at, UPLOADED);
});

Deno.test("slicing and resuming (plain, zip, gzip) yields every conversation exactly once", async () => {
  const json = enc.encode([...generateExport({ seed: 3, targetBytes: 3 * 1024 * 1024 })].join(""));
  const whole = await ingestAll(json, 64 * 1024 * 1024);
  assert.equal(whole.slices, 1);
  assert.ok(whole.conversations.length > 100);
  for (
    const [name, data] of [["json", json], ["zip", await zipOf("conversations.json", json)], [
      "gzip",
      gzip(json),
    ]] as const
  ) {
    const sliced = await ingestAll(data, 256 * 1024);
    assert.ok(sliced.slices > 5, `${name}: ${sliced.slices} slices`);
    assert.deepEqual(sliced.conversations.map((c) => c.id), whole.conversations.map((c) => c.id), name);
    assert.deepEqual(
      sliced.conversations.map((c) => c.messages.length),
      whole.conversations.map((c) => c.messages.length),
    );
    assert.equal(sliced.warnings, whole.warnings);
  }
});

const BAD: [string, () => Uint8Array | Promise<Uint8Array>, string][] = [
  ["0-byte file", () => new Uint8Array(0), "EXPORT_EMPTY"],
  ["not JSON, zip or gzip", () => enc.encode("hello, this is a text file"), "EXPORT_UNSUPPORTED_FORMAT"],
  ["a PDF", () => enc.encode("%PDF-1.7\n..."), "EXPORT_UNSUPPORTED_FORMAT"],
  ["broken JSON", () => enc.encode("{hello"), "EXPORT_JSON_INVALID"],
  [
    "truncated JSON",
    () => enc.encode('[{"id":"a","title":"x","mapping":{"r":{"id":"r","message":null'),
    "EXPORT_TRUNCATED",
  ],
  [
    "truncated gzip",
    () => gzip(enc.encode(JSON.stringify([{ id: "a" }]).repeat(1))).slice(0, 12),
    "EXPORT_CORRUPT_ARCHIVE",
  ],
  ["zip without conversations.json", () => zipOf("chat.html", enc.encode("<html/>")), "EXPORT_NO_CONVERSATIONS_JSON"],
  ["truncated zip", async () => (await zipOf("conversations.json", enc.encode("[]"))).slice(0, 40), "EXPORT_TRUNCATED"],
  ["JSON of the wrong shape (object)", () => enc.encode('{"users": [1, 2]}'), "EXPORT_WRONG_SHAPE"],
  ["JSON of the wrong shape (numbers)", () => enc.encode("[1, 2, 3]"), "EXPORT_WRONG_SHAPE"],
  [
    "no usable conversations",
    () =>
      enc.encode(
        '[{"id":"x","title":"t","mapping":{"r":{"id":"r","message":null,"parent":null,"children":[]}},"current_node":"r"}]',
      ),
    "EXPORT_NO_CONVERSATIONS",
  ],
];

for (const [name, make, code] of BAD) {
  Deno.test(`bad input: ${name} -> ${code}`, async () => {
    const data = await make();
    await assert.rejects(() => ingestAll(data), (e: { code?: string; message?: string; retriable?: boolean }) => {
      assert.equal(e.code, code, e.message);
      assert.ok(e.message && e.message.length > 10, "a readable message");
      assert.equal(e.retriable, false);
      return true;
    });
  });
}

// The bad-input corpus, in memory, with the production slice size (the same table runs through
// the platform in tests/functions/ingest_bad_inputs.test.ts).
for (const c of BAD_INPUTS) {
  Deno.test(`bad-input corpus (processors): ${c.name}`, async () => {
    const data = await c.make();
    if (c.expect.error) {
      await assert.rejects(() => ingestAll(data, 2 * 1024 * 1024), (e: { code?: string; retriable?: boolean }) => {
        assert.equal(e.code, c.expect.error);
        assert.equal(e.retriable, false);
        return true;
      });
      return;
    }
    const r = await ingestAll(data, 2 * 1024 * 1024);
    assert.equal(r.conversations.length, c.expect.conversations);
    assert.deepEqual(countCodes(r.warningList), c.expect.warnings ?? {});
    c.expect.check?.(r.conversations);
    for (const conv of r.conversations) {
      assert.ok(conv.id.length >= 1 && conv.id.length <= 300, "storable id");
      const text = JSON.stringify(conv);
      assert.ok(!text.includes("\\u0000") && text.isWellFormed(), "no NUL, no lone surrogates");
    }
    if (c.expect.rerun) {
      const again = await ingestAll(data, 2 * 1024 * 1024);
      assert.deepEqual(again.conversations.map((x) => x.id), r.conversations.map((x) => x.id), "stable ids");
    }
  });
}

Deno.test("a replaced id depends on the conversation, not on its position or the upload", async () => {
  const a = chatgpt(null, "Same", ["hello"]), b = chatgpt(null, "Other", ["hello"]);
  const first = await ingestAll(enc.encode(JSON.stringify([a, b])));
  const swapped = await ingestAll(enc.encode(JSON.stringify([chatgpt("x", "Pad", ["pad"]), b, a])));
  const ids = first.conversations.map((c) => c.id);
  assert.notEqual(ids[0], ids[1]);
  assert.deepEqual(swapped.conversations.slice(1).map((c) => c.id), [ids[1], ids[0]]);
  const long = "y".repeat(301);
  const l1 = await ingestAll(enc.encode(JSON.stringify([chatgpt(long, "T", ["one"])])));
  const l2 = await ingestAll(enc.encode(JSON.stringify([chatgpt(long, "T", ["one", "two", "three"])])));
  assert.equal(l1.conversations[0]!.id, l2.conversations[0]!.id, "a long id keeps its replacement as the thread grows");
  assert.equal(l1.warningList[0]!.code, "BAD_ID");
  assert.match(l1.warningList[0]!.message, /301 characters/);
});

Deno.test("a conversation over the cap is skipped across slices without being held", async () => {
  const huge = chatgpt("huge", "Huge", ["x".repeat(3 * 1024 * 1024)]);
  const convs = [chatgpt("a", "A", ["one"]), huge, chatgpt("b", "B", ["two"])];
  const json = enc.encode(JSON.stringify(convs));
  for (const [name, data] of [["json", json], ["gzip", gzip(json)], ["zip", await zipOf("conversations.json", json)]]) {
    const r = await ingestAll(data as Uint8Array, 64 * 1024, 1024 * 1024);
    assert.deepEqual(r.conversations.map((c) => c.id), ["a", "b"], name as string);
    assert.deepEqual(r.warningList.map((w) => [w.ref, w.code]), [["#1", "TOO_LARGE"]]);
    // Gathered up to the cap once, then skipped slice by slice (each within its budget plus one
    // chunk) from resume points inside the conversation.
    assert.ok(r.slices > 25, `${name}: the skip went on over ${r.slices} slices`);
    assert.ok(Math.max(...r.sliceSizes) <= 1024 * 1024 + 2 * 64 * 1024, `${name}: ${Math.max(...r.sliceSizes)} B`);
    assert.ok(r.sliceSizes.filter((b) => b > 2 * 64 * 1024).length <= 1, `${name}: ${r.sliceSizes}`);
  }
});

Deno.test("whitespace between conversations ends slices on time", async () => {
  const ws = " \n\t".repeat(1024 * 1024);
  const data = enc.encode(`[${ws}${JSON.stringify(chatgpt("a", "A", ["one"]))},${ws}]`);
  const r = await ingestAll(data, 256 * 1024);
  assert.deepEqual(r.conversations.map((c) => c.id), ["a"]);
  assert.ok(r.slices >= 20);
  assert.ok(Math.max(...r.sliceSizes) <= 2 * 256 * 1024);
});

Deno.test("scanner: a resume point inside a skipped element carries on to its end", () => {
  const text = '[{"a":"' + "z".repeat(100) + '","b":[1,{"c":"]}"}]},{"d":1}]';
  const bytes = enc.encode(text);
  const s1 = new ElementScanner({ pos: 1, skip: null }, 10);
  assert.deepEqual(s1.push(bytes.subarray(1, 50), 1), []);
  const point = s1.resumePoint();
  assert.ok(point.skip, "inside the skipped element");
  assert.equal(point.pos, 50);
  const s2 = new ElementScanner(JSON.parse(JSON.stringify(point)), 10);
  const els = s2.push(bytes.subarray(50), 50);
  assert.deepEqual(els.map((e) => [e.start, e.end, e.bytes && new TextDecoder().decode(e.bytes)]), [
    [1, text.indexOf(',{"d"'), null],
    [text.indexOf('{"d"'), text.length - 1, '{"d":1}'],
  ]);
  assert.equal(s2.state, "done");
});

Deno.test("NUL-only text is dropped; a conversation left with nothing visible is a warning", async () => {
  const r = await ingestAll(
    enc.encode(JSON.stringify([chatgpt("a", "A", ["\u0000 "]), chatgpt("b", "B\u0000", ["hi"])])),
  );
  assert.deepEqual(r.conversations.map((c) => [c.id, c.title]), [["b", "B"]]);
  assert.deepEqual(countCodes(r.warningList), { NO_VISIBLE_MESSAGES: 1, NUL_STRIPPED: 1 });
});

Deno.test("zip64 archives are read; a declared size past the cap is refused before inflating", async () => {
  const data = enc.encode(JSON.stringify([chatgpt("a", "A", ["one"])]));
  const r = await ingestAll(await buildZip([{ name: "export/conversations.json", data }], true));
  assert.deepEqual(r.conversations.map((c) => c.id), ["a"]);
  await assert.rejects(
    async () => ingestAll(await buildZip([{ name: "conversations.json", data, declaredSize: 2 ** 40 }], true)),
    (e: { code?: string }) => e.code === "EXPORT_TOO_LARGE",
  );
});

Deno.test("scanSlice hands off the next cursor before parsing: slices parsed in any order give the sequential result", async () => {
  const json = enc.encode([...generateExport({ seed: 5, targetBytes: 3 * 1024 * 1024 })].join(""));
  const data = gzip(json);
  const read = (s: number, e: number) => Promise.resolve(data.slice(s, e));
  const opts = { fallbackTime: UPLOADED, sliceBytes: 256 * 1024 };
  const scans = [];
  let cursor: IngestCursor | null = null;
  do {
    const s = await scanSlice(read, data.length, cursor, opts);
    // A retried slice (same cursor, cursor through JSON as in a task payload) ends where the first run did.
    const again = await scanSlice(read, data.length, cursor && JSON.parse(JSON.stringify(cursor)), opts);
    assert.deepEqual(again.next, s.next);
    assert.equal(again.elements.length, s.elements.length);
    scans.push(s);
    cursor = s.next;
  } while (cursor);
  assert.ok(scans.length > 4, `${scans.length} slices`);
  const parsed = scans.map((s) => parseElements(s.elements, s.kind, opts)).reverse().flatMap((p) => p.conversations);
  const sequential = await ingestAll(data, opts.sliceBytes);
  assert.deepEqual(
    parsed.sort((a, b) => a.ordinal - b.ordinal).map((c) => [c.id, c.ordinal, c.messages.length]),
    sequential.conversations.map((c) => [c.id, (c as OrderedConversation).ordinal, c.messages.length]),
  );
  assert.equal(emptyImportError(1, 1), null);
  assert.equal(emptyImportError(0, 3)?.code, "EXPORT_NO_CONVERSATIONS");
  assert.equal(emptyImportError(0, 0)?.code, "EXPORT_WRONG_SHAPE");
});

Deno.test("scanner: quotes and backslashes inside strings, cut at every chunk size", () => {
  // Strings made of escapes, so that a chunk can end inside an escape, between a backslash run
  // and its quote, or right after an escaped quote.
  const pieces = ["\\", '"', "a", "{", "]", "\\\\", '\\"', "é"];
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  for (let t = 0; t < 300; t++) {
    const items: unknown[] = [];
    for (let k = 1 + rand(4); k > 0; k--) {
      let s = "";
      for (let q = rand(10); q > 0; q--) s += pieces[rand(pieces.length)];
      items.push(rand(3) === 0 ? s : { a: s, b: [s, { c: s }] });
    }
    const bytes = new TextEncoder().encode(`[${items.map((x) => JSON.stringify(x)).join(" ,\n")}]`);
    const size = 1 + rand(9);
    const scanner = new ElementScanner({ pos: 1, skip: null }, 1 << 20);
    const found: unknown[] = [];
    for (let at = 1; at < bytes.length; at += size) {
      for (const e of scanner.push(bytes.subarray(at, at + size), at)) {
        found.push(JSON.parse(new TextDecoder().decode(bytes.subarray(e.start, e.end))));
      }
    }
    assert.deepEqual(found, items);
    assert.equal(scanner.state, "done");
  }
});
