/**
 * Local platform (never deployed): the delivery worker of the pg_net stand-in. Like pg_net it
 * takes up to 200 queued requests at a time, deletes them from the queue *before* sending
 * (at-most-once: a crash or a drop loses the request and leaves no response row), sends them
 * concurrently with their own timeouts, and records each outcome in net._http_response.
 * It wakes on NOTIFY (delivered at commit, so requests leave only after their transaction
 * commits) and also polls. Chaos knobs come from local_platform.settings.
 */
import type { Sql } from "postgres";

interface Queued {
  id: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer> | null;
  timeout_milliseconds: number;
}

const BATCH = 200;
const POLL_MS = 250;
const RESPONSE_TTL = "6 hours";

export class NetWorker {
  lastPollAt = 0;
  sent = 0;
  dropped = 0;
  private running = true;
  private wake: (() => void) | null = null;
  private knobs = { drop: 0, delayRate: 0, delayMs: 0, at: 0 };

  constructor(private sql: Sql) {}

  private async settings() {
    if (Date.now() - this.knobs.at > 1000) {
      const rows = await this.sql`select key, value from local_platform.settings`;
      const v = (k: string) => Number(rows.find((r) => r.key === k)?.value ?? 0);
      this.knobs = {
        drop: v("net_drop_rate"),
        delayRate: v("net_delay_rate"),
        delayMs: v("net_delay_ms"),
        at: Date.now(),
      };
    }
    return this.knobs;
  }

  async run(): Promise<void> {
    await this.sql.listen("net_http_request_queue", () => this.wake?.());
    let lastCleanup = 0;
    while (this.running) {
      try {
        const batch = await this.sql<Queued[]>`
          delete from net.http_request_queue
          where id in (select id from net.http_request_queue order by id limit ${BATCH} for update skip locked)
          returning id, method, url, headers, body, timeout_milliseconds`;
        this.lastPollAt = Date.now();
        if (batch.length) {
          const k = await this.settings();
          for (const r of batch) void this.deliver(r, k);
          if (batch.length === BATCH) continue;
        }
        if (Date.now() - lastCleanup > 60_000) {
          lastCleanup = Date.now();
          await this.sql`delete from net._http_response where created < now() - ${RESPONSE_TTL}::interval`;
        }
      } catch (e) {
        console.error(JSON.stringify({ event: "net.worker_error", error: String(e) }));
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async deliver(r: Queued, k: { drop: number; delayRate: number; delayMs: number }): Promise<void> {
    if (Math.random() < k.drop) {
      this.dropped++;
      return; // lost, as when pg_net's worker dies between dequeue and send
    }
    if (k.delayMs > 0 && Math.random() < k.delayRate) await new Promise((res) => setTimeout(res, k.delayMs));
    this.sent++;
    let row: Record<string, unknown>;
    try {
      const res = await fetch(r.url, {
        method: r.method,
        headers: r.headers,
        body: r.method === "GET" ? undefined : r.body,
        signal: AbortSignal.timeout(r.timeout_milliseconds),
      });
      const content = await res.text();
      row = {
        status_code: res.status,
        content_type: res.headers.get("content-type"),
        headers: Object.fromEntries(res.headers),
        content,
        timed_out: false,
        error_msg: null,
      };
    } catch (e) {
      const timedOut = e instanceof DOMException && e.name === "TimeoutError";
      row = {
        status_code: null,
        content_type: null,
        headers: null,
        content: null,
        timed_out: timedOut,
        error_msg: timedOut ? `Timeout of ${r.timeout_milliseconds} ms reached` : String(e),
      };
    }
    try {
      await this
        .sql`insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
        values (${r.id}, ${row.status_code as number | null}, ${row.content_type as string | null},
                ${row.headers ? this.sql.json(row.headers as Record<string, string>) : null},
                ${row.content as string | null}, ${row.timed_out as boolean}, ${row.error_msg as string | null})`;
    } catch (e) {
      console.error(JSON.stringify({ event: "net.record_failed", id: r.id, error: String(e) }));
    }
  }

  stop(): void {
    this.running = false;
    this.wake?.();
  }
}
