/**
 * Scale curve: imports generated exports of growing size through the real platform (offline
 * provider, the gateway's hosted limits as configured: enforced by default) and reports, per
 * size, when the person could first chat and what the import cost.
 *   deno task bench:scale [-- --sizes 10,100,1024,5120 --format zip --until complete|ingest|chunk
 *     --text stock|real]
 * Ends with one JSON line {"runs":[{mb, quick_ready_s, total_s, mb_per_s, ingest_chunk_s,
 * max_cpu_ms, max_rss_mb, db_mb}]}: quick_ready_s from the job's insert to the profile's
 * quick_ready; total_s to the end of the import (`--until ingest` or `chunk`: to the end of that
 * stage, for sizes whose full pass would take hours on a laptop; the line then says so);
 * mb_per_s = mb / total_s; ingest_chunk_s to the last chunk batch (the export read, cut and
 * stored: what a parser + chunker does); `--text real` imports exports shaped like real
 * histories (long answers, pasted code and logs: tools/real-text.ts); max_cpu_ms / max_rss_mb the
 * largest of the run's function invocations (gateway report); db_mb the database's growth. The
 * cost per MB must not grow with size: compare mb_per_s and db_mb / mb across runs. Each run's
 * user is deleted afterwards (with its rows), and each run starts once autovacuum is idle
 * (`quietDatabase`), so runs do not weigh on one another.
 */
import { exportFormat, exportText, writeExport } from "./generate-export.ts";
import { adminDb, API_URL, createUser, keys, userClient } from "../tests/_support/platform.ts";
import { uploadFile } from "../cli/upload.ts";
import { benchArgs, quietDatabase } from "./_lib.ts";

const args = benchArgs({ sizes: "10,100,1024,5120", format: "zip", seed: 7, until: "complete", text: "stock" });
const sizes = args.sizes.split(",").map((s) => {
  const n = Number(s);
  if (!(n > 0)) throw new Error(`--sizes: expected MB sizes separated by commas, got ${JSON.stringify(args.sizes)}`);
  return n;
});
if (args.until !== "complete" && args.until !== "ingest" && args.until !== "chunk") {
  throw new Error(`--until: expected complete, ingest or chunk, got ${JSON.stringify(args.until)}`);
}
const format = exportFormat(args.format);
const text = exportText(args.text);
const sql = adminDb();
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const dbBytes = async () => Number((await sql`select pg_database_size(current_database())::float8 as b`)[0]!.b);

interface Invocation {
  fn: string;
  cpu_ms: number | null;
  peak_rss_mb: number | null;
}

async function run(mb: number) {
  const file = await Deno.makeTempFile({ suffix: `.${format}` });
  const user = await createUser(sql, "bench-scale");
  let jobId: string | undefined;
  let path: string | undefined;
  try {
    const bytes = await writeExport(file, mb, format, args.seed, text);
    console.error(`${mb} MB: generated ${(bytes / 1048576).toFixed(1)} MB (${format}, ${text} text)`);
    path = `${user.id}/${Date.now()}-export.${format}`;
    await uploadFile({ apiUrl: API_URL, token: user.token, apikey: keys.anon_key, bucket: "imports", key: path }, file);
    const db0 = await dbBytes();
    const before = await (await fetch(`${API_URL}/_platform/invocations`)).json() as { seq: number }[];
    const since = before.at(-1)?.seq ?? 0;
    const t0 = performance.now();
    const [job] = await sql`insert into public.processing_jobs (user_id, storage_path) values (${user.id}, ${
      "imports/" + path
    }) returning id`;
    jobId = job!.id as string;
    let quickReady: number | null = null;
    let last = { at: performance.now(), key: "" };
    for (;;) {
      const [r] = await sql`select j.status, j.error_code, j.error_message, j.progress_percent, j.conversation_count,
                                   p.import_status
                              from public.processing_jobs j left join public.user_profiles p on p.user_id = j.user_id
                             where j.id = ${jobId}`;
      if (quickReady === null && r!.import_status === "quick_ready") quickReady = (performance.now() - t0) / 1000;
      if (r!.status === "failed" || r!.status === "cancelled") {
        throw new Error(`${mb} MB: import ${r!.status}: ${r!.error_code} ${r!.error_message}`);
      }
      const done = args.until === "ingest"
        ? r!.status !== "ingest"
        : args.until === "chunk"
        ? !["ingest", "quick_pass", "chunk"].includes(r!.status) // the stages in their order (pipeline v2)
        : r!.status === "complete";
      if (done && quickReady !== null) break;
      const key = `${r!.status} ${r!.progress_percent} ${r!.conversation_count}`;
      if (key !== last.key) last = { at: performance.now(), key };
      else if (performance.now() - last.at > 300_000) throw new Error(`${mb} MB: no progress for 5 minutes (${key})`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const total = (performance.now() - t0) / 1000;
    await new Promise((res) => setTimeout(res, 500)); // let the last invocations report
    const inv = (await (await fetch(`${API_URL}/_platform/invocations?since=${since}`)).json()) as Invocation[];
    // Where the time went: each stage's first claim and last completion, seconds from the insert.
    const stages = await sql`select t.stage, count(*)::int as tasks,
        round(extract(epoch from min(t.claimed_at) - j.created_at)::numeric, 1)::float8 as from_s,
        round(extract(epoch from max(t.completed_at) - j.created_at)::numeric, 1)::float8 as to_s,
        (sum(t.attempts) - count(*))::int as retries
      from private.job_tasks t join public.processing_jobs j on j.id = t.job_id
     where t.job_id = ${jobId} group by t.stage, j.created_at order by 3`;
    const out = {
      mb,
      quick_ready_s: round(quickReady!),
      total_s: round(total),
      mb_per_s: round(mb / total),
      ingest_chunk_s: stages.find((r) => r.stage === "chunk")?.to_s ?? null,
      max_cpu_ms: Math.max(0, ...inv.map((i) => i.cpu_ms ?? 0)),
      max_rss_mb: round(Math.max(0, ...inv.map((i) => i.peak_rss_mb ?? 0))),
      db_mb: round((await dbBytes() - db0) / 1048576),
    };
    console.error(JSON.stringify(out));
    console.error(
      `${mb} MB stages: ${
        stages.map((r) => `${r.stage} ${r.from_s}-${r.to_s} s (${r.tasks}, ${r.retries} retried)`).join("; ")
      }`,
    );
    return out;
  } finally {
    // Stop the job (when running on past `--until`) and drop the run's rows before the next size.
    if (jobId) {
      await sql`select public.cancel_job(${jobId}) where exists (select from public.processing_jobs
                  where id = ${jobId} and status not in ('complete', 'failed', 'cancelled'))`.catch(() => {});
    }
    if (path) await userClient(user.token).storage.from("imports").remove([path]).catch(() => {});
    await sql`delete from auth.users where id = ${user.id}`.catch(() => {});
    await Deno.remove(file).catch(() => {});
  }
}

try {
  const runs = [];
  for (const mb of sizes) {
    await quietDatabase(sql);
    runs.push(await run(mb));
  }
  console.log(JSON.stringify({ runs, format, text, until: args.until }));
} finally {
  await sql.end();
}
