/**
 * Writes a synthetic ChatGPT export: deno run -A bench/generate-export.ts --size <MB>
 *   [--format zip|json|gzip] [--seed N] [--out path]
 */
import { gzip } from "pako";
import { generateExport } from "../shared/processors/export-generator.ts";
import { zipEntry } from "../shared/processors/zip-writer.ts";

export async function writeExport(out: string, mb: number, format: "zip" | "json" | "gzip", seed = 1): Promise<number> {
  const enc = new TextEncoder();
  const pieces = function* () {
    let buf: string[] = [], n = 0;
    for (const s of generateExport({ seed, targetBytes: mb * 1024 * 1024 })) {
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
  const arg = (name: string, def: string) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Deno.args[i + 1]! : def;
  };
  const format = arg("format", "zip") as "zip" | "json" | "gzip";
  const out = arg("out", `export-${arg("size", "10")}mb.${format === "gzip" ? "json.gz" : format}`);
  const bytes = await writeExport(out, Number(arg("size", "10")), format, Number(arg("seed", "1")));
  console.log(`${out}: ${bytes} bytes`);
}
