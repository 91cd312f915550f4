/**
 * Local platform (never deployed): fault injection. With the `gateway_kill_rate` knob above 0, that
 * share of invocations has its worker killed (SIGKILL, 546) 10..100 ms into the run, the way a
 * crash or a platform kill lands mid-task. Draws come from a seeded generator (mulberry32), so a
 * run with the same seed and the same order of requests kills the same invocations.
 */
export class FaultInjector {
  private state: number;
  rate = 0;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Reseeds (the `gateway_chaos_seed` knob); a changed seed restarts the sequence. */
  reseed(seed: number): void {
    this.state = seed >>> 0;
  }

  /** Milliseconds after which to kill this invocation, or null to leave it alone. */
  killAfterMs(): number | null {
    if (this.rate <= 0) return null;
    const hit = this.next() < this.rate;
    const delay = 10 + this.next() * 90;
    return hit ? delay : null;
  }

  /** mulberry32: a small, fast, well-distributed 32-bit generator; returns [0, 1). */
  private next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
