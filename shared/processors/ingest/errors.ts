/** Ingest's coded, human-readable failures (all fatal for the job, none retriable). */
import { PipelineError } from "../errors.ts";

export type IngestErrorCode =
  | "EXPORT_NOT_FOUND"
  | "EXPORT_EMPTY"
  | "EXPORT_UNSUPPORTED_FORMAT"
  | "EXPORT_TRUNCATED"
  | "EXPORT_JSON_INVALID"
  | "EXPORT_NO_CONVERSATIONS_JSON"
  | "EXPORT_ZIP_BOMB"
  | "EXPORT_TOO_LARGE"
  | "EXPORT_WRONG_SHAPE"
  | "EXPORT_NO_CONVERSATIONS"
  | "EXPORT_INVALID_UTF8"
  | "EXPORT_CORRUPT_ARCHIVE";

export function ingestError(code: IngestErrorCode, message: string): PipelineError {
  return new PipelineError(code, message);
}
