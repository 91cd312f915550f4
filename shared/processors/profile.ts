/** The profile columns that carry a SoulPrint (sections as JSON, and the rendered text). */
import { soulprintText } from "./render.ts";
import type { Sections } from "./schemas.ts";

export function profileFields(s: Sections, memoryMd: string | null): Record<string, unknown> {
  return {
    sections: s,
    // The *_md columns hold each section's JSON text (SPEC §4); the rendered markdown is soulprint_text.
    soul_md: JSON.stringify(s.soul),
    identity_md: JSON.stringify(s.identity),
    user_md: JSON.stringify(s.user),
    agents_md: JSON.stringify(s.agents),
    tools_md: JSON.stringify(s.tools),
    soulprint_text: soulprintText(s, memoryMd),
    // ai_name and archetype always follow identity (lesson 25).
    ai_name: s.identity.ai_name || "Nova",
    archetype: s.identity.archetype && s.identity.archetype !== "not enough data"
      ? s.identity.archetype
      : "Analyzing...",
  };
}
