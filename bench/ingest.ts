/**
 * Ingest benchmark: generates an export, uploads it to local Storage as a user, starts a job
 * and times the ingest stage through the real platform.
 *   deno task bench:ingest -- --size <MB> --format zip|json|gzip [--text stock|real]
 * Ends with one JSON line: mb, seconds, mb_per_s, invocations, max_invocation_cpu_ms,
 * max_invocation_rss_mb (the last two from the gateway's per-invocation report), plus
 * max_invocation_rss_growth_mb (peak RSS minus the worker's RSS when the invocation started,
 * i.e. without what the runtime and earlier invocations hold) and max_invocation_heap_mb (JS heap + external buffers,
 * what the edge runtime's per-isolate memory limit counts); total_invocation_cpu_s; written
 * (conversations written by COPY and by the upsert); chain (slices, the mean time from one
 * slice's start to the next's, and the mean of its scan part: the import's sequential path);
 * phases (wall and CPU ms per phase, summed over the slices). It starts once autovacuum is idle;
 * the job is cancelled after ingest and its user deleted with its rows.
 */
import { exportFormat, exportText, writeExport } from "./generate-export.ts";
import { adminDb, API_URL, createUser, keys } from "../tests/_support/platform.ts";
import { uploadFile } from "../cli/upload.ts";
import { benchArgs, quietDatabase } from "./_lib.ts";

const args = benchArgs({ size: 100, format: "zip", seed: 7, text: "stock" });
const mb = args.size;
const format = exportFormat(args.format);
const file = await Deno.makeTempFile({ suffix: `.${format}` });
const sql = adminDb();
let jobId: string | undefined;
let userId: string | undefined;
try {
  const bytes = await writeExport(file, mb, format, args.seed, exportText(args.text));
  console.error(`generated ${file}: ${(bytes / 1048576).toFixed(1)} MB (${format}, ~${mb} MB of JSON)`);
  await quietDatabase(sql); // as bench:scale: an earlier run's deletion is not vacuumed beside this one
  const user = await createUser(sql, "bench-ingest");
  userId = user.id;
  const path = `${user.id}/${Date.now()}-export.${format}`;
  await uploadFile({ apiUrl: API_URL, token: user.token, apikey: keys.anon_key, bucket: "imports", key: path }, file);
  const before = await (await fetch(`${API_URL}/_platform/invocations`)).json() as { seq: number }[];
  const since = before.at(-1)?.seq ?? 0;
  const t0 = performance.now();
  const [job] = await sql`insert into public.processing_jobs (user_id, storage_path) values (${user.id}, ${
    "imports/" + path
  }) returning id`;
  jobId = job!.id;
  let row: Record<string, unknown> = {};
  let progress = { at: performance.now(), count: -1 };
  for (;;) {
    const rows = await sql`select status, error_code, error_message, conversation_count, message_count, progress_percent
                             from public.processing_jobs where id = ${job!.id}`;
    row = rows[0] ?? {};
    if (row.status !== "ingest") break;
    const count = Number(row.conversation_count);
    if (count !== progress.count) progress = { at: performance.now(), count };
    else if (performance.now() - progress.at > 120_000) throw new Error("ingest made no progress for 2 minutes");
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  if (row.status === "failed") throw new Error(`ingest failed: ${row.error_code} ${row.error_message}`);
  await new Promise((r) => setTimeout(r, 300)); // let the last invocation report
  const inv = (await (await fetch(`${API_URL}/_platform/invocations?since=${since}`)).json() as {
    fn: string;
    cpu_ms: number | null;
    peak_rss_mb: number | null;
    start_rss_mb: number | null;
    heap_mb: number | null;
  }[]).filter((i) => i.fn === "ingest");
  const stored =
    await sql`select sum(pg_column_size(messages))::float8 / 1048576 as json_mb from public.raw_conversations
                             where job_id = ${job!.id}`;
  const json_mb = Number(stored[0]?.json_mb ?? 0);
  // Where the slices' time went: per-phase wall and CPU summed over the ingest tasks (Phases).
  const phases = await sql`select key as phase, sum(value::float8)::int as ms,
                                   sum((result->'cpu_ms'->>key)::float8)::int as cpu_ms
                              from private.job_tasks, jsonb_each_text(result->'ms')
                             where job_id = ${job!.id} and stage = 'ingest' group by key order by key`;
  // Conversations written by COPY and by the upsert (ids already in the import).
  const [written] = await sql`select coalesce(sum((result->'written'->>'copied')::int), 0)::int as copied,
                                     coalesce(sum((result->'written'->>'upserted')::int), 0)::int as upserted
                                from private.job_tasks where job_id = ${job!.id} and stage = 'ingest'`;
  // The slices' sequential part: each slice hands its successor off after its scan, so the
  // time from one slice's start to the next's is the chain's link; what of it is the scan
  // (open + scan + handoff) and what is getting the next slice running (dispatch, claim).
  const [chain] = await sql`
    with s as (select (result->>'started_at')::float8 as t,
                      (result->'ms'->>'open')::float8 + (result->'ms'->>'scan')::float8 +
                        (result->'ms'->>'handoff')::float8 as prepare
                 from private.job_tasks where job_id = ${job!.id} and stage = 'ingest' and result ? 'started_at')
    select count(*)::int as links, ((max(t) - min(t)) / greatest(count(*) - 1, 1))::int as mean_link_ms,
           avg(prepare)::int as mean_prepare_ms from s`;
  console.error(
    `${row.conversation_count} conversations, ${row.message_count} messages, ${json_mb.toFixed(0)} MB stored`,
  );
  console.log(JSON.stringify({
    mb,
    upload_mb: Math.round(bytes / 1048576 * 10) / 10,
    format,
    seconds: Math.round(seconds * 10) / 10,
    mb_per_s: Math.round(mb / seconds * 10) / 10,
    invocations: inv.length,
    max_invocation_cpu_ms: Math.max(...inv.map((i) => i.cpu_ms ?? 0)),
    max_invocation_rss_mb: Math.max(...inv.map((i) => i.peak_rss_mb ?? 0)),
    // The invocation's own memory: peak RSS minus the process's RSS when it started.
    max_invocation_rss_growth_mb: Math.max(
      ...inv.map((i) => Math.round(((i.peak_rss_mb ?? 0) - (i.start_rss_mb ?? 0)) * 10) / 10),
    ),
    max_invocation_heap_mb: Math.max(...inv.map((i) => i.heap_mb ?? 0)),
    total_invocation_cpu_s: Math.round(inv.reduce((a, i) => a + (i.cpu_ms ?? 0), 0) / 100) / 10,
    written,
    chain,
    phases: Object.fromEntries(phases.map((p) => [p.phase, { ms: p.ms, cpu_ms: p.cpu_ms }])),
  }));
} finally {
  // Stop the job after its ingest stage (or on any exit, e.g. Ctrl-C): its later stages would
  // otherwise run on and skew whatever is measured next.
  if (jobId) {
    await sql`select public.cancel_job(${jobId}) where exists
                (select from public.processing_jobs where id = ${jobId} and status not in ('complete', 'failed', 'cancelled'))`
      .catch(() => {});
  }
  // And delete its user with its rows, as bench:scale does: a 1 GB run leaves ~1 GB of stored
  // conversations that would weigh on every later run.
  if (userId) await sql`delete from auth.users where id = ${userId}`.catch(() => {});
  await Deno.remove(file).catch(() => {});
  await sql.end();
}
