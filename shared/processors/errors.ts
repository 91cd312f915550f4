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
  CONFIG_INVALID: { status: 500, retriable: false },
  // Ingest: the uploaded export cannot be used (the person has to upload another file).
  EXPORT_NOT_FOUND: { status: 422, retriable: false },
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

/** A failure with a stable code; `retriable` tells the orchestrator whether to try again. */
export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = "PipelineError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
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
