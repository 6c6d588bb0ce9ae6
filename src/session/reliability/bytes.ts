/** Byte builders for the reliability cases: bad files are made in code, not stored as binaries. */

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bytes from ASCII text and hex runs: b('text,label\n', 'c3a9', ',pos\n'); a part of hex digit pairs only is hex. */
export const b = (...parts: string[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (/^(?:[0-9a-f]{2})+$/.test(p) ? p.match(/../g)!.map((h) => parseInt(h, 16)) : [...utf8(p)])));

export function utf16le(s: string, bom: boolean): Uint8Array {
  const out = new Uint8Array((bom ? 2 : 0) + 2 * s.length);
  if (bom) out.set([0xff, 0xfe]);
  for (let i = 0; i < s.length; i++) out.set([s.charCodeAt(i) & 0xff, s.charCodeAt(i) >> 8], (bom ? 2 : 0) + 2 * i);
  return out;
}

export function utf16be(s: string, bom = false): Uint8Array {
  const out = new Uint8Array((bom ? 2 : 0) + 2 * s.length);
  if (bom) out.set([0xfe, 0xff]);
  for (let i = 0; i < s.length; i++) out.set([s.charCodeAt(i) >> 8, s.charCodeAt(i) & 0xff], (bom ? 2 : 0) + 2 * i);
  return out;
}

export const json = (x: unknown): Uint8Array => utf8(JSON.stringify(x));

/** `n` rows alternating the labels pos/neg, each a distinct short sentence. */
export const rows = (n: number, labels: readonly string[] = ['pos', 'neg']): string => Array.from({ length: n }, (_, i) => `sentence number ${i},${labels[i % labels.length]}\n`).join('');
