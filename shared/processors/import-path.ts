/**
 * The one shape an import's storage path may have: `imports/<user id>/<safe file name>`. The
 * database refuses anything else at insert (policy on processing_jobs, same rule); ingest checks
 * again because it reads with the service key, so a path that slipped past (a row written by the
 * service, an older policy) must never reach Storage.
 */
import { PipelineError } from "./errors.ts";

/** The bucket every export is uploaded to. */
export const IMPORTS_BUCKET = "imports";

/**
 * A safe file name: 1-200 characters of letters, digits and `_ - . ( ) + space`, not starting
 * with a dot, with no `..`: no slashes, backslashes, percent-escapes or control characters.
 */
const SAFE_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.()+ -]{0,199}$/;

/** An import object, split and checked. `encodedKey` is safe to put in a URL path as is. */
export interface ImportObject {
  bucket: string;
  /** `<user id>/<file name>` as stored. */
  key: string;
  /** The key with each segment percent-encoded. */
  encodedKey: string;
}

/**
 * Splits and checks `storagePath` for the job's owner.
 * @throws PipelineError EXPORT_PATH_INVALID when the path is not `imports/<userId>/<safe name>`.
 */
export function importObject(storagePath: string, userId: string): ImportObject {
  const parts = storagePath.split("/");
  const [bucket, owner, file] = parts;
  const ok = parts.length === 3 && bucket === IMPORTS_BUCKET && owner === userId.toLowerCase() &&
    file !== undefined && SAFE_FILE_NAME.test(file) && !file.includes("..");
  if (!ok) {
    throw new PipelineError(
      "EXPORT_PATH_INVALID",
      "the import's file path is not a file in your own upload folder (imports/<your id>/<file name>)",
    );
  }
  return { bucket, key: `${owner}/${file}`, encodedKey: `${encodeURIComponent(owner)}/${encodeURIComponent(file!)}` };
}

/**
 * A file name made safe for an upload key: unsafe characters become `_`, dot runs a single dot,
 * and a leading dot is prefixed. Used by clients that derive the key from a local file name.
 */
export function safeFileName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.()+ -]/g, "_").replace(/\.{2,}/g, ".").slice(0, 200);
  return /^[A-Za-z0-9_-]/.test(s) ? s : `_${s}`.slice(0, 200);
}
