/**
 * A minimal zip writer (one deflated entry, data descriptor, zip64 when needed), used to
 * package generated exports the way ChatGPT does. Yields the archive in pieces.
 */
import { Deflate } from "pako";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function le(bytes: number, v: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
  return out;
}

/**
 * Zips the pieces of `content` as entry `name` (deflate, level 1..9).
 * @param extra other small entries to include first (like chat.html), uncompressed.
 */
export async function* zipEntry(
  name: string,
  content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  level = 6,
  extra: { name: string; data: Uint8Array }[] = [],
): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  let offset = 0;
  const central: number[][] = [];
  const emit = (b: Uint8Array | number[]) => {
    const u = b instanceof Uint8Array ? b : new Uint8Array(b);
    offset += u.length;
    return u;
  };
  for (const e of extra) {
    const nb = enc.encode(e.name), crc = crc32(e.data), at = offset;
    yield emit([
      ...le(4, 0x04034b50),
      20,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...le(4, crc),
      ...le(4, e.data.length),
      ...le(4, e.data.length),
      ...le(2, nb.length),
      0,
      0,
      ...nb,
    ]);
    yield emit(e.data);
    central.push([
      ...le(4, 0x02014b50),
      20,
      0,
      20,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...le(4, crc),
      ...le(4, e.data.length),
      ...le(4, e.data.length),
      ...le(2, nb.length),
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...le(4, at),
      ...nb,
    ]);
  }
  const nb = enc.encode(name);
  const at = offset;
  yield emit([
    ...le(4, 0x04034b50),
    45,
    0,
    8,
    0,
    8,
    0,
    0,
    0,
    0,
    0,
    ...le(4, 0),
    ...le(4, 0),
    ...le(4, 0),
    ...le(2, nb.length),
    0,
    0,
    ...nb,
  ]);
  const d = new Deflate({ level, raw: true });
  const pending: Uint8Array[] = [];
  d.onData = (c: Uint8Array) => pending.push(c);
  let crc = 0, size = 0, comp = 0;
  for await (const piece of content) {
    crc = crc32(piece, crc);
    size += piece.length;
    d.push(piece, false);
    for (const c of pending.splice(0)) (comp += c.length, yield emit(c));
  }
  d.push(new Uint8Array(0), true);
  for (const c of pending.splice(0)) (comp += c.length, yield emit(c));
  const big = size >= 0xffffffff || comp >= 0xffffffff || at >= 0xffffffff;
  yield emit([...le(4, 0x08074b50), ...le(4, crc), ...le(big ? 8 : 4, comp), ...le(big ? 8 : 4, size)]);
  const z64 = big ? [...le(2, 1), ...le(2, 24), ...le(8, size), ...le(8, comp), ...le(8, at)] : [];
  central.push([
    ...le(4, 0x02014b50),
    45,
    0,
    45,
    0,
    8,
    0,
    8,
    0,
    0,
    0,
    0,
    0,
    ...le(4, crc),
    ...le(4, big ? 0xffffffff : comp),
    ...le(4, big ? 0xffffffff : size),
    ...le(2, nb.length),
    ...le(2, z64.length),
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...le(4, big ? 0xffffffff : at),
    ...nb,
    ...z64,
  ]);
  const cdStart = offset;
  for (const c of central) yield emit(c);
  const cdSize = offset - cdStart;
  if (big) {
    const z64eocd = offset;
    yield emit([
      ...le(4, 0x06064b50),
      ...le(8, 44),
      45,
      0,
      45,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...le(8, central.length),
      ...le(8, central.length),
      ...le(8, cdSize),
      ...le(8, cdStart),
    ]);
    yield emit([...le(4, 0x07064b50), 0, 0, 0, 0, ...le(8, z64eocd), ...le(4, 1)]);
  }
  yield emit([
    ...le(4, 0x06054b50),
    0,
    0,
    0,
    0,
    ...le(2, central.length),
    ...le(2, central.length),
    ...le(4, big ? 0xffffffff : cdSize),
    ...le(4, big ? 0xffffffff : cdStart),
    0,
    0,
  ]);
}
