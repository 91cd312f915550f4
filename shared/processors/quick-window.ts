/**
 * The quick pass's first window: which order an export lists its conversations in, judged from
 * the part ingest has read so far. The quick pass starts once ingest has read the window (see
 * private.early_stages), so the first chat never waits for a whole multi-GB file.
 *
 * Exports seen so far: the one real ChatGPT export in our fixtures (LibreChat's
 * chatgpt-export.json) lists newest first; hand-made samples and the synthetic generator list
 * oldest first; Claude.ai's order is not pinned by any fixture. Whatever the order, the window is
 * the file's beginning, so the quick pass samples it and then:
 *  - newest-first: the window holds the person's recent conversations and its sections stand;
 *  - oldest-first or unknown: the first chat still comes from the window (old conversations are
 *    still the person), and the quick pass runs again over the whole export once ingest has read the
 *    whole file, so the quick SoulPrint reflects the recent conversations too.
 */

/** At most this many conversations, in ingest order, are sampled from a window (bounded work). */
export const QUICK_WINDOW_MAX_CONVERSATIONS = 2000;

export type WindowOrder = "newest-first" | "oldest-first" | "unknown";

/**
 * The order of the conversations ingest has read, from rows in ingest order: conversations read
 * in one ingest step share `read_at`, so the first and the last step's median start times are
 * compared. Fewer than two steps, or equal medians, is "unknown".
 */
export function windowOrder(rows: readonly { read_at: string; created_at: string }[]): WindowOrder {
  const steps: number[][] = [];
  let last: string | null = null;
  for (const r of rows) {
    if (r.read_at !== last) steps.push([]);
    last = r.read_at;
    steps.at(-1)!.push(Date.parse(r.created_at));
  }
  if (steps.length < 2) return "unknown";
  const first = median(steps[0]!), final = median(steps.at(-1)!);
  if (Number.isNaN(first) || Number.isNaN(final) || first === final) return "unknown";
  return first > final ? "newest-first" : "oldest-first";
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
}
