/**
 * Writes a synthetic ChatGPT export: deno run -A bench/generate-export.ts --size <MB>
 *   [--format zip|json|gzip] [--seed N] [--out path] [--text stock|real]
 */
import { gzip } from "pako";
import { generateExport } from "../tools/export-generator.ts";
import { zipEntry } from "../tools/zip-writer.ts";
import { benchArgs } from "./_lib.ts";

export type ExportFormat = "zip" | "json" | "gzip";

/** `--format` checked: one of zip, json, gzip. @throws Error naming the value otherwise. */
export function exportFormat(v: string): ExportFormat {
  if (v === "zip" || v === "json" || v === "gzip") return v;
  throw new Error(`--format: expected zip, json or gzip, got ${JSON.stringify(v)}`);
}

export type ExportText = "stock" | "real";

/** `--text` checked: stock (the generator's short sentences) or real (real-text.ts). */
export function exportText(v: string): ExportText {
  if (v === "stock" || v === "real") return v;
  throw new Error(`--text: expected stock or real, got ${JSON.stringify(v)}`);
}

export async function writeExport(
  out: string,
  mb: number,
  format: ExportFormat,
  seed = 1,
  text: ExportText = "stock",
): Promise<number> {
  const enc = new TextEncoder();
  const pieces = function* () {
    let buf: string[] = [], n = 0;
    for (const s of generateExport({ seed, targetBytes: mb * 1024 * 1024, text })) {
      buf.push(s);
      n += s.length;
      if (n > 1 << 20) {
        yield enc.encode(buf.join(""));
        buf = [];
        n = 0;
      }
    }
    if (buf.length) yield enc.encode(buf.join(""));
  };
  const f = await Deno.open(out, { write: true, create: true, truncate: true });
  let bytes = 0;
  try {
    if (format === "zip") {
      const extra = [{ name: "chat.html", data: enc.encode("<html><body>export</body></html>") }];
      for await (const c of zipEntry("conversations.json", pieces(), 1, extra)) (bytes += c.length, await f.write(c));
    } else if (format === "gzip") {
      const parts = [...pieces()];
      const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let o = 0;
      for (const p of parts) (all.set(p, o), o += p.length);
      const z = gzip(all, { level: 1 });
      bytes = z.length;
      await f.write(z);
    } else {
      for (const c of pieces()) (bytes += c.length, await f.write(c));
    }
  } finally {
    f.close();
  }
  return bytes;
}

if (import.meta.main) {
  const args = benchArgs({ size: 10, format: "zip", seed: 1, out: "", text: "stock" });
  const format = exportFormat(args.format);
  const out = args.out || `export-${args.size}mb.${format === "gzip" ? "json.gz" : format}`;
  const bytes = await writeExport(out, args.size, format, args.seed, exportText(args.text));
  console.log(`${out}: ${bytes} bytes`);
}
