/**
 * Memory fidelity: generator -> the real pipeline -> scorer, for both template sets.
 *   deno task bench:fidelity [-- --seed 1 --provider offline|anthropic|bedrock]
 * A provider other than offline is configured from this process's environment (its keys are
 * written to .platform/functions.env for the run). Ends with one JSON line: facts, recall,
 * precision, recency, duplicates, provider (template set A), plus `check` (set B).
 */
import postgres from "postgres";
import { generateFidelityExport, type TemplateSet } from "../shared/processors/fidelity/generator.ts";
import { scoreSoulprint } from "../shared/processors/fidelity/score.ts";
import { API_URL as API, benchArgs, DB_URL, importAndWait } from "./_lib.ts";

const { seed, provider } = benchArgs({ seed: 1, provider: "offline" });
const sql = postgres(DB_URL, {
  max: 2,
  onnotice: () => {},
});
const envFile = new URL("../.platform/functions.env", import.meta.url);

async function run(set: TemplateSet) {
  const { conversations, truth } = generateFidelityExport(seed, set);
  const { userId, job } = await importAndWait(
    sql,
    API,
    new TextEncoder().encode(JSON.stringify(conversations)),
    `fidelity-${set}`,
  );
  if (job.status !== "complete") {
    throw new Error(`fidelity import ${job.status}: ${job.error_code} ${job.error_message}`);
  }
  const [p] = await sql`select sections, memory_md from public.user_profiles where user_id = ${userId}`;
  const facts = await sql`select category, fact from public.memory_facts where job_id = ${job.id}`;
  const s = scoreSoulprint(truth, { sections: p!.sections, memoryMd: p!.memory_md, facts: facts.map((f) => f.fact) });
  console.error(`set ${set}: ${JSON.stringify(s)}`);
  return s;
}

try {
  if (provider !== "offline") {
    const pass = [
      "ANTHROPIC_API_KEY",
      "ANTHROPIC_BASE_URL",
      "ANTHROPIC_MODEL",
      "AWS_REGION",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "BEDROCK_ENDPOINT",
      "BEDROCK_MODEL_ID",
      "LLM_RPM",
      "LLM_TPM",
    ];
    await Deno.writeTextFile(
      envFile,
      [`LLM_PROVIDER=${provider}`, ...pass.flatMap((k) => Deno.env.get(k) ? [`${k}=${Deno.env.get(k)}`] : [])].join(
        "\n",
      ) + "\n",
    );
    await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
    await new Promise((r) => setTimeout(r, 2000));
  }
  const a = await run("A");
  const b = await run("B");
  console.log(JSON.stringify({
    facts: a.facts,
    recall: a.recall,
    precision: a.precision,
    recency: a.recency,
    duplicates: a.duplicates,
    provider,
    templates: "A",
    check: { templates: "B", recall: b.recall, precision: b.precision, recency: b.recency, duplicates: b.duplicates },
  }));
} finally {
  if (provider !== "offline") {
    await Deno.remove(envFile).catch(() => {});
    await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  }
  await sql.end();
}
