/**
 * Local platform (never deployed): the invocation log, `.platform/logs/functions.log`. One line per
 * function console line (`<time> <fn>[<pid>] <text>`) and one JSON line per platform event
 * (`{"event": "invocation" | "invocation.killed" | "worker.soft_limit" | ...}`).
 */
export class FunctionsLog {
  private file: Deno.FsFile;
  private enc = new TextEncoder();

  constructor(path: string) {
    this.file = Deno.openSync(path, { append: true, create: true });
  }

  /** A line a function printed (stdout or stderr). */
  line(fn: string, pid: number, text: string): void {
    this.file.writeSync(this.enc.encode(`${new Date().toISOString()} ${fn}[${pid}] ${text}\n`));
  }

  /** A platform event. */
  event(event: string, fields: Record<string, unknown>): void {
    this.file.writeSync(this.enc.encode(`${JSON.stringify({ event, ...fields })}\n`));
  }
}

/** Splits a byte stream into lines. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
}
