/**
 * Ingest's size limits, in one place. They bound what one upload can cost (production runs each
 * slice in an invocation with 256 MB of memory and 2 s of CPU) without refusing real exports.
 */

/**
 * Most decompressed bytes one upload may expand to. The `imports` bucket accepts uploads of up to
 * 10 GiB (file_size_limit in 20261128000400_create_imports_bucket.sql), so a plain
 * conversations.json can be 10 GiB; the same JSON zipped or gzipped is accepted, nothing larger.
 */
export const MAX_EXPANDED_BYTES = 10 * 1024 ** 3;

/**
 * Expansion ratios beyond this are a decompression bomb. Real ChatGPT and Claude.ai exports
 * compress about 5-15:1 (the benchmark's generated export: 14:1); even very repetitive JSON stays
 * well under 100:1, while bombs run at 1000:1 and more.
 */
export const MAX_RATIO = 200;

/**
 * The ratio is judged only once this much has been decompressed: below it a small file can
 * compress very well without costing anything, and above it every bomb is caught after at most
 * a few slices' work (8 MiB out of at most 40 KiB in).
 */
export const RATIO_MIN_OUTPUT = 8 * 1024 * 1024;

/**
 * Most bytes buffered for one conversation (one element of the conversations array). Parsing
 * takes about 3x its size in heap (a 60 MB conversation peaked at 184 MB), so 16 MiB stays well
 * inside 256 MB next to the rest of a slice; larger conversations are skipped with a TOO_LARGE
 * warning, without being held.
 */
export const MAX_ELEMENT_BYTES = 16 * 1024 * 1024;
