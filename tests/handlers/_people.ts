/** Conversations a person might have had, for the fast stage tests (ingest's canonical shape). */
import type { CanonicalConversation } from "../../shared/processors/ingest/types.ts";

const SAID = [
  "My name is Sam Okafor and I work as a nurse in Porto.",
  "I moved to Porto in May with my partner Ines.",
  "I prefer tea over coffee, always green tea in the morning.",
  "I am building a small app called Kiln to track my pottery glazes.",
  "I decided to learn Portuguese properly this year.",
  "My brother Sven lives in Oslo and works on ships.",
];

/** `n` conversations of four messages each, one a day back from `newest` (ids c000, c001, ...). */
export function conversations(n: number, newest = "2026-06-30T12:00:00.000Z"): CanonicalConversation[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `c${String(i).padStart(3, "0")}`,
    title: `Chat ${i}`,
    created_at: new Date(Date.parse(newest) - i * 86_400_000).toISOString(),
    updated_at: null,
    model: null,
    source: "chatgpt" as const,
    messages: [
      { role: "user" as const, content: SAID[i % SAID.length]!, created_at: null },
      { role: "assistant" as const, content: "That sounds good. Tell me more about it.", created_at: null },
      {
        role: "user" as const,
        content: `It matters to me, day ${i}. ${SAID[(i + 1) % SAID.length]}`,
        created_at: null,
      },
      { role: "assistant" as const, content: "Thanks for sharing that with me.", created_at: null },
    ],
  }));
}
