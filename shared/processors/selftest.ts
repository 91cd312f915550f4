/**
 * The selftest pipeline's logic: a start task fans out `tasks` item tasks; each item simulates
 * `work_ms` milliseconds of I/O. Pure: options in, task descriptors out.
 */

export interface SelftestOptions {
  /** Number of fan-out tasks. @default 50 */
  tasks: number;
  /** Simulated I/O per item task, in milliseconds. @default 0 */
  work_ms: number;
}

/** Reads options from a job's `options` json, clamped to safe bounds. */
export function parseSelftestOptions(raw: unknown): SelftestOptions {
  const o = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const int = (v: unknown, def: number, max: number) =>
    Number.isInteger(v) && (v as number) >= 0 ? Math.min(v as number, max) : def;
  return { tasks: int(o.tasks, 50, 100_000), work_ms: int(o.work_ms, 0, 10_000) };
}

/** The fan-out for a start task: one item task per index; none for item tasks themselves. */
export function planSelftestFanout(
  taskKey: string,
  opts: SelftestOptions,
): { task_key: string; payload: { i: number } }[] {
  if (!taskKey.endsWith(":start")) return [];
  return Array.from({ length: opts.tasks }, (_, i) => ({ task_key: `item:${i}`, payload: { i } }));
}
