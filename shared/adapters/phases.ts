/** Per-phase wall and CPU time of one piece of work (ingest reports it per slice). */
import { cpuNow } from "./stage-handler.ts";

/**
 * Wall and CPU milliseconds per phase of a slice, kept in the task's result (`ms`, `cpu_ms`):
 * where an import's time went, per slice. CPU is the worker process's, GC threads included.
 * Phases: open (job row, Storage), scan (read, inflate, cut), handoff (next task committed),
 * parse (JSON.parse, canonical form), write (rows to Postgres), between (batch bookkeeping and
 * the wait between prepare and the transaction), finish (warnings, import totals).
 */
export class Phases {
  private wall: Record<string, number> = {};
  private cpu: Record<string, number> = {};
  private w = performance.now();
  private c = (cpuNow() ?? 0);
  private started = Date.now();

  /** Charges the time since the previous mark to `phase`. */
  mark(phase: string): void {
    const w = performance.now(), c = cpuNow() ?? 0;
    this.wall[phase] = (this.wall[phase] ?? 0) + w - this.w;
    this.cpu[phase] = (this.cpu[phase] ?? 0) + c - this.c;
    this.w = w;
    this.c = c;
  }

  /** Per-phase figures, and when the slice started and ended (epoch ms: slices' overlap). */
  report(): { ms: Record<string, number>; cpu_ms: Record<string, number>; started_at: number; ended_at: number } {
    const round = (o: Record<string, number>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]));
    return { ms: round(this.wall), cpu_ms: round(this.cpu), started_at: this.started, ended_at: Date.now() };
  }
}
