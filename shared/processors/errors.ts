/**
 * The error catalogue. Every failure that leaves a function, a task or a job carries one of
 * these codes, an HTTP status, whether retrying can help, and a message a person understands.
 */

export const ERROR_CODES = {
  INPUT_INVALID: { status: 400, retriable: false },
  AUTH_MISSING: { status: 401, retriable: false },
  AUTH_INVALID: { status: 401, retriable: false },
  FORBIDDEN: { status: 403, retriable: false },
  NOT_FOUND: { status: 404, retriable: false },
  CONFLICT: { status: 409, retriable: false },
  LEASE_LOST: { status: 409, retriable: false },
  JOB_INACTIVE: { status: 409, retriable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false },
  RATE_LIMITED: { status: 429, retriable: true },
  CONFIG_INVALID: { status: 500, retriable: false },
  // Ingest: the uploaded export cannot be used (the person has to upload another file).
  EXPORT_NOT_FOUND: { status: 422, retriable: false },
  EXPORT_PATH_INVALID: { status: 422, retriable: false },
  EXPORT_EMPTY: { status: 422, retriable: false },
  EXPORT_UNSUPPORTED_FORMAT: { status: 422, retriable: false },
  EXPORT_TRUNCATED: { status: 422, retriable: false },
  EXPORT_JSON_INVALID: { status: 422, retriable: false },
  EXPORT_NO_CONVERSATIONS_JSON: { status: 422, retriable: false },
  EXPORT_ZIP_BOMB: { status: 422, retriable: false },
  EXPORT_TOO_LARGE: { status: 422, retriable: false },
  EXPORT_WRONG_SHAPE: { status: 422, retriable: false },
  EXPORT_NO_CONVERSATIONS: { status: 422, retriable: false },
  EXPORT_INVALID_UTF8: { status: 422, retriable: false },
  EXPORT_CORRUPT_ARCHIVE: { status: 422, retriable: false },
  DB_UNAVAILABLE: { status: 503, retriable: true },
  STORAGE_UNAVAILABLE: { status: 503, retriable: true },
  PROVIDER_RATE_LIMITED: { status: 503, retriable: true },
  PROVIDER_TIMEOUT: { status: 504, retriable: true },
  PROVIDER_ERROR: { status: 502, retriable: true },
  LLM_OUTPUT_INVALID: { status: 502, retriable: true },
  TIME_BUDGET_EXCEEDED: { status: 503, retriable: true },
  INTERNAL: { status: 500, retriable: true },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * What a client is told for each code. Clients never see internal text (SQL errors, stack
 * traces, provider replies): for the codes in CALLER_FACING the error's own message is shown,
 * because those messages are written here for the caller (what to fix); every other code shows
 * only this text.
 */
export const PUBLIC_MESSAGES = {
  INPUT_INVALID: "The request is not valid.",
  AUTH_MISSING: "Sign in first.",
  AUTH_INVALID: "The access token is not valid; sign in again.",
  FORBIDDEN: "You are not allowed to do this.",
  NOT_FOUND: "Not found.",
  CONFLICT: "This conflicts with the current state; reload and try again.",
  LEASE_LOST: "The task is no longer running under this lease.",
  JOB_INACTIVE: "The job is no longer active.",
  PAYLOAD_TOO_LARGE: "The request is too large.",
  RATE_LIMITED: "Too many requests; try again shortly.",
  CONFIG_INVALID: "The service is misconfigured; the operators have been told.",
  EXPORT_NOT_FOUND: "The uploaded export was not found; upload it again.",
  EXPORT_PATH_INVALID: "The import must name a file in your own upload folder (imports/<your id>/<file name>).",
  EXPORT_EMPTY: "The uploaded export is empty.",
  EXPORT_UNSUPPORTED_FORMAT: "The file is not a ChatGPT or Claude.ai export.",
  EXPORT_TRUNCATED: "The uploaded export is incomplete; upload it again.",
  EXPORT_JSON_INVALID: "The export's conversations file is not valid JSON.",
  EXPORT_NO_CONVERSATIONS_JSON: "The archive holds no conversations file.",
  EXPORT_ZIP_BOMB: "The archive expands to more than is allowed.",
  EXPORT_TOO_LARGE: "The export is larger than an import may be (10 GiB uncompressed).",
  EXPORT_WRONG_SHAPE: "The export's conversations are not in a known shape.",
  EXPORT_NO_CONVERSATIONS: "The export holds no conversations.",
  EXPORT_INVALID_UTF8: "The export is not valid UTF-8 text.",
  EXPORT_CORRUPT_ARCHIVE: "The archive is damaged.",
  DB_UNAVAILABLE: "The service is temporarily unavailable; try again shortly.",
  STORAGE_UNAVAILABLE: "File storage is temporarily unavailable; try again shortly.",
  PROVIDER_RATE_LIMITED: "The model is busy; try again shortly.",
  PROVIDER_TIMEOUT: "The model took too long to answer; try again.",
  PROVIDER_ERROR: "The model could not answer; try again.",
  LLM_OUTPUT_INVALID: "The model's answer could not be used; try again.",
  TIME_BUDGET_EXCEEDED: "This took too long; try again.",
  INTERNAL: "Something went wrong on our side; try again, and quote the request id if it keeps happening.",
} as const satisfies Record<ErrorCode, string>;

/** Codes whose own messages are written for the caller and may be shown as they are. */
const CALLER_FACING: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "INPUT_INVALID",
  "AUTH_MISSING",
  "AUTH_INVALID",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "RATE_LIMITED",
]);

/** What leaves a function in an error response. */
export interface PublicError {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  retry_after_s?: number;
  request_id?: string;
}

/** A failure with a stable code; `retriable` tells the orchestrator whether to try again. */
export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;

  /** Seconds after which a retry may succeed (RATE_LIMITED); sent as Retry-After. */
  readonly retryAfterS?: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retriable?: boolean; retryAfterS?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "PipelineError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    if (options.retryAfterS !== undefined) this.retryAfterS = options.retryAfterS;
  }

  /**
   * The body a client may see: the code, a safe message (see PUBLIC_MESSAGES), whether to
   * retry, and the request id under which the real error was logged.
   */
  toPublic(requestId?: string): PublicError {
    return {
      code: this.code,
      message: CALLER_FACING.has(this.code) && this.message ? this.message : PUBLIC_MESSAGES[this.code],
      retriable: this.retriable,
      ...(this.retryAfterS !== undefined ? { retry_after_s: this.retryAfterS } : {}),
      ...(requestId ? { request_id: requestId } : {}),
    };
  }

  toJSON(): { code: ErrorCode; message: string; retriable: boolean } {
    return { code: this.code, message: this.message, retriable: this.retriable };
  }
}

/**
 * Maps anything thrown to a PipelineError. Unknown errors become INTERNAL, which is retriable,
 * so the task's max_attempts bounds what a bug can cost.
 */
export function normalizeError(err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PipelineError("INTERNAL", message || "unexpected error", { cause: err });
}
