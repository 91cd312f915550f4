/**
 * Deterministic rendering of the SoulPrint (SPEC §3.11, lesson 26): keys as Title Case labels,
 * lists as bullets, nested objects readable, UTF-8 as is, "not enough data" for empty values.
 */
import type { Sections } from "./schemas.ts";

const ND = "not enough data";
const label = (k: string) => k.split("_").map((w) => w ? w[0]!.toUpperCase() + w.slice(1) : w).join(" ");

/** Removes "not enough data", empty strings/lists and nulls (SPEC §4 clean_section); null when nothing is left. */
export function cleanSection(section: unknown): Record<string, unknown> | null {
  if (!section || typeof section !== "object" || Array.isArray(section)) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(section)) {
    if (v === null || v === undefined) continue;
    if (typeof v === "string") {
      if (v.trim() && v.trim().toLowerCase() !== ND) out[k] = v.trim();
    } else if (Array.isArray(v)) {
      const items = v.filter((x) =>
        !(typeof x === "string" && (!x.trim() || x.trim().toLowerCase() === ND)) && x !== null
      );
      if (items.length) out[k] = items;
    } else out[k] = v;
  }
  return Object.keys(out).length ? out : null;
}

function value(v: unknown, indent = ""): string {
  if (Array.isArray(v)) {
    return v.length ? "\n" + v.map((x) => `${indent}- ${value(x, indent + "  ").trimStart()}`).join("\n") : ND;
  }
  if (v && typeof v === "object") {
    const e = Object.entries(v);
    return e.length
      ? "\n" + e.map(([k, x]) => `${indent}- **${label(k)}:** ${value(x, indent + "  ").trimStart()}`).join("\n")
      : ND;
  }
  if (typeof v === "string") return v.trim() ? v.trim() : ND;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return ND;
}

/** One section as markdown: `**Label:** value` lines, lists as bullets, keys in schema order. */
export function sectionMarkdown(title: string, section: Record<string, unknown>): string {
  const lines = Object.entries(section).map(([k, v]) => {
    const r = value(v, "  ");
    return r.startsWith("\n") ? `**${label(k)}:**${r}` : `**${label(k)}:** ${r}`;
  });
  return `## ${title}\n\n${lines.join("\n")}`;
}

export const SECTION_TITLES = {
  soul: "Communication Style & Personality",
  identity: "Your AI Identity",
  user: "About You",
  agents: "How I Operate",
  tools: "My Capabilities",
} as const;

/** The full SoulPrint text: the five sections, then `## Memory` when there is one. */
export function soulprintText(s: Sections, memoryMd: string | null): string {
  const parts = (Object.keys(SECTION_TITLES) as (keyof typeof SECTION_TITLES)[])
    .map((k) => sectionMarkdown(SECTION_TITLES[k], s[k] as Record<string, unknown>));
  if (memoryMd) parts.push(`## Memory\n\n${memoryMd}`);
  return parts.join("\n\n");
}

export const MEMORY_HEADINGS = [
  "## Preferences",
  "## Projects",
  "## Important Dates",
  "## Beliefs & Values",
  "## Decisions & Context",
];

/** Problems with a MEMORY document (missing headings, placeholders, fallback text); empty = valid. */
export function memoryProblems(md: string): string[] {
  const problems: string[] = [];
  let at = -1;
  for (const h of MEMORY_HEADINGS) {
    const i = md.indexOf(h);
    if (i < 0) problems.push(`missing heading ${h}`);
    else if (i < at) problems.push(`heading ${h} out of order`);
    else at = i;
  }
  if (/\[(date|topic|name|placeholder|insert[^\]]*)\]/i.test(md)) problems.push("contains placeholder text");
  if (/generation failed|\[FALLBACK\]|raw fact count/i.test(md)) problems.push("is a fallback, not a memory");
  return problems;
}
