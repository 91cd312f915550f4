/**
 * Memory fidelity: generator -> the real pipeline -> scorer.
 *   deno task bench:fidelity [-- --seed 1 --provider offline|anthropic|bedrock]
 * Sets: "dev" (development phrasings, 84 conversations), "large" (development phrasings spread
 * over 1,000 conversations, most of them outside regenerate's 200-conversation sample) and
 * "held_out" (phrasings the analyser was never developed against; reported on its own).
 * A provider other than offline is configured from this process's environment (its keys are
 * written to .platform/functions.env for the run). Ends with one JSON line; exits 1 when any
 * set has no precision (nothing claimed about the person).
 */
import postgres from "postgres";
import { type FidelityOptions, generateFidelityExport, type TemplateSet } from "./fidelity/generator.ts";
import { scoreSoulprint } from "./fidelity/score.ts";
import { API_URL as API, benchArgs, DB_URL, importAndWait } from "./_lib.ts";

const { seed, provider } = benchArgs({ seed: 1, provider: "offline" });
const sql = postgres(DB_URL, {
  max: 2,
  onnotice: () => {},
});
const envFile = new URL("../.platform/functions.env", import.meta.url);

async function run(label: string, set: TemplateSet, opts: FidelityOptions) {
  const { conversations, truth } = generateFidelityExport(seed, set, opts);
  const t0 = performance.now();
  const { userId, job } = await importAndWait(
    sql,
    API,
    new TextEncoder().encode(JSON.stringify(conversations)),
    `fidelity-${label}`,
  );
  if (job.status !== "complete") {
    throw new Error(`fidelity import ${job.status}: ${job.error_code} ${job.error_message}`);
  }
  const [p] = await sql`select sections, memory_md from public.user_profiles where user_id = ${userId}`;
  const facts = await sql`select category, fact from public.memory_facts where job_id = ${job.id}`;
  const s = scoreSoulprint(truth, { sections: p!.sections, memoryMd: p!.memory_md, facts: facts.map((f) => f.fact) });
  console.error(
    `${label} (${conversations.length} conversations, ${Math.round(performance.now() - t0)} ms): ${JSON.stringify(s)}`,
  );
  return {
    conversations: conversations.length,
    recall: s.recall,
    precision: s.precision ?? null,
    claims: s.claims,
    unsupported: s.unsupported.length,
    trapped: s.trapped,
    recency: s.recency,
    duplicates: s.duplicates,
  };
}

let failed = false;
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
  const dev = await run("dev", "A", {});
  const large = await run("large", "A", { conversations: 1000 });
  const heldOut = await run("held_out", "H", {});
  failed = [dev, large, heldOut].some((s) => s.precision === null);
  console.log(JSON.stringify({ provider, seed, facts: 13, dev, large, held_out: heldOut, pass: !failed }));
} finally {
  if (provider !== "offline") {
    await Deno.remove(envFile).catch(() => {});
    await (await fetch(`${API}/_platform/reload-functions`, { method: "POST" })).body?.cancel();
  }
  await sql.end();
}
if (failed) Deno.exit(1);
