/**
 * Local platform (never deployed): what the gateway and a function worker say to each other.
 * The worker writes protocol lines on stdout, each prefixed with PROTOCOL_MARK so the function's
 * own console output (also on stdout) is told apart; the gateway tags every forwarded request
 * with INVOCATION_HEADER, which the worker echoes in that request's report.
 */
export const PROTOCOL_MARK = "\u001eplatform ";
export const INVOCATION_HEADER = "x-platform-invocation";

/** One invocation's figures, sent by the worker once its response body has ended. */
export interface InvocationReport {
  id: string | null;
  cpu_ms: number;
  peak_rss_mb: number;
  start_rss_mb: number;
  heap_mb: number;
  wall_ms: number;
  overlapped: boolean;
}
