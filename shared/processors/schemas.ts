/** The shapes the models must return (SPEC §3.7, §4), validated with zod. */
import { z } from "zod";

const str = z.string().default("not enough data");
const list = z.array(z.string()).default([]);

export const SectionsSchema = z.object({
  soul: z.object({
    communication_style: str,
    personality_traits: list,
    tone_preferences: str,
    boundaries: str,
    humor_style: str,
    formality_level: str,
    emotional_patterns: str,
  }),
  identity: z.object({
    ai_name: z.string().min(1),
    archetype: str,
    vibe: str,
    emoji_style: str,
    signature_greeting: str,
  }),
  user: z.object({
    name: str,
    location: str,
    occupation: str,
    relationships: list,
    interests: list,
    life_context: str,
    preferred_address: str,
  }),
  agents: z.object({
    response_style: str,
    behavioral_rules: list,
    context_adaptation: str,
    memory_directives: str,
    do_not: list,
  }),
  tools: z.object({
    likely_usage: list,
    capabilities_emphasis: list,
    output_preferences: str,
    depth_preference: str,
  }),
});
export type Sections = z.infer<typeof SectionsSchema>;

export const FactsSchema = z.object({
  preferences: list,
  projects: z.array(
    z.object({ name: z.string(), description: z.string().default(""), details: z.string().default("") }),
  ).default([]),
  dates: z.array(z.object({ event: z.string(), date: z.string() })).default([]),
  beliefs: list,
  decisions: z.array(z.object({ decision: z.string(), context: z.string().default("") })).default([]),
});
export type FactSet = z.infer<typeof FactsSchema>;
