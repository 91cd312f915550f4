/**
 * Local platform (never deployed): runs one Edge Function's `index.ts` unchanged in its own
 * process, like one isolate of the edge runtime. The handler the module passes to `Deno.serve` is
 * captured and served on an ephemeral port. Like an isolate, a worker may serve several requests
 * at once (the gateway decides how many); the CPU and peak-memory deltas of an invocation that ran
 * alone are its own, and an invocation that overlapped others is reported as `overlapped`.
 *
 * SIGTERM from the gateway (a worker ended at its memory or wall clock limit) dispatches
 * `beforeunload`, as the edge runtime does before it terminates an isolate, so that a stage can
 * give its in-flight tasks back; SIGKILL follows after a grace period.
 *
 * Protocol on stdout (see worker-protocol.ts), one line each:
 *   {"ready": <port>}                        once the module is loaded
 *   {"invocation": InvocationReport}         after each response body has ended
 */
import process from "node:process";
import { pathToFileURL } from "node:url";
import { INVOCATION_HEADER, type InvocationReport, PROTOCOL_MARK } from "./worker-protocol.ts";

type Handler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

const [entry] = Deno.args;
if (!entry) throw new Error("usage: function-worker.ts <path to index.ts>");

const realServe = Deno.serve;
let handler: Handler | undefined;
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (a: unknown, b?: unknown) => {
  // Deno.serve(handler) | Deno.serve(options, handler) | Deno.serve({ handler, ...options })
  const h = typeof a === "function" ? a : typeof b === "function" ? b : (a as { handler?: unknown })?.handler;
  if (typeof h !== "function") throw new Error("Deno.serve was called without a handler");
  handler = h as Handler;
  return { finished: new Promise<void>(() => {}), shutdown: () => Promise.resolve(), ref() {}, unref() {} };
};

Deno.addSignalListener("SIGTERM", () => {
  globalThis.dispatchEvent(new CustomEvent("beforeunload", { detail: { reason: "terminate" } }));
});

await import(pathToFileURL(entry).href);
if (!handler) throw new Error(`${entry} did not call Deno.serve`);
const serve = handler;

const out = (obj: unknown) =>
  Deno.stdout.writeSync(new TextEncoder().encode(PROTOCOL_MARK + JSON.stringify(obj) + "\n"));

function resetPeakRss(): void {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5"); // resets VmHWM (Linux >= 4.0)
  } catch {
    // Not Linux: the peak then covers the process lifetime.
  }
}

function statusMb(field: "VmHWM" | "VmRSS"): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`${field}:\\s+(\\d+)`));
  return m ? Number(m[1]) / 1024 : Deno.memoryUsage().rss / 1048576;
}

let inFlight = 0;
/** Bumped whenever an invocation starts, so each one can tell whether another ran beside it. */
let started = 0;

realServe({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => out({ ready: port }) }, async (req, info) => {
  if (inFlight++ === 0) resetPeakRss();
  // What the process held before this request (runtime, loaded modules, caches): the
  // invocation's own memory is its peak minus this.
  const rssStart = statusMb("VmRSS");
  const startedAt = ++started;
  let overlapped = inFlight > 1;
  const id = req.headers.get(INVOCATION_HEADER);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = () => {
    inFlight--;
    overlapped ||= started !== startedAt;
    const cpu = process.cpuUsage(cpu0);
    const invocation: InvocationReport = {
      id,
      overlapped,
      cpu_ms: Math.round((cpu.user + cpu.system) / 100) / 10,
      peak_rss_mb: Math.round(statusMb("VmHWM") * 10) / 10,
      start_rss_mb: Math.round(rssStart * 10) / 10,
      // What the edge runtime's limit counts: the JS heap plus external buffers.
      heap_mb: Math.round(((m) => (m.heapUsed + m.external) / 1048576)(Deno.memoryUsage()) * 10) / 10,
      wall_ms: Math.round(performance.now() - t0),
    };
    out({ invocation });
  };
  let res: Response;
  try {
    res = await serve(req, info);
  } catch (err) {
    console.error(JSON.stringify({ event: "worker.uncaught", error: String(err) }));
    res = Response.json({ code: "WORKER_ERROR", message: "Function failed due to an uncaught error" }, { status: 500 });
  }
  if (!res.body) {
    report();
    return res;
  }
  // Streamed bodies: the invocation ends when the last chunk is sent (or the client goes away).
  let done = false;
  const finish = () => {
    if (!done) {
      done = true;
      report();
    }
  };
  const body = res.body.pipeThrough(new TransformStream({ flush: finish }));
  // `completed` settles when the response is fully delivered or the client went away.
  (info as Deno.ServeHandlerInfo & { completed?: Promise<void> }).completed?.then(finish, finish);
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
});
