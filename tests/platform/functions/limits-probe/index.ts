/**
 * A function the local gateway serves for the platform's own tests only (never deployed): it does
 * what the query asks, so the tests can drive an invocation past each hosted limit.
 *   ?burn_ms=N   spin until the process has used N ms of CPU time (at most 60 s of wall time)
 *   ?alloc_mb=N  allocate and touch N MB of buffers (outside the V8 heap cap, like decoded files)
 *   ?sleep_ms=N  then wait N ms before answering
 */
import process from "node:process";

Deno.serve(async (req) => {
  const q = new URL(req.url).searchParams;
  const burnMs = Number(q.get("burn_ms") ?? 0);
  const allocMb = Number(q.get("alloc_mb") ?? 0);
  const sleepMs = Number(q.get("sleep_ms") ?? 0);
  let spins = 0;
  const cpu0 = process.cpuUsage();
  const cpuMs = () => ((c) => (c.user + c.system) / 1000)(process.cpuUsage(cpu0));
  for (const until = performance.now() + 60_000; burnMs > 0 && cpuMs() < burnMs && performance.now() < until;) spins++;
  const held: Uint8Array[] = [];
  for (let i = 0; i < allocMb; i++) held.push(new Uint8Array(1048576).fill(i % 255 + 1));
  await new Promise((r) => setTimeout(r, sleepMs));
  return Response.json({ spins, held_mb: held.length });
});
