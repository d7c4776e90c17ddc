/**
 * Values as people read them: IPv4 and IPv6 addresses from their bytes, and durations with a unit.
 * Pure functions, used by the render stage (render.ts).
 */

/** Four bytes (network order) as dotted decimal: "127.0.0.1". */
export function ipv4Text(b: Uint8Array, p: number): string {
  return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
}

/**
 * Sixteen bytes as an IPv6 address in RFC 5952's form: lowercase, the longest run of two or more
 * zero groups as "::", an IPv4-mapped address as "::ffff:1.2.3.4".
 */
export function ipv6Text(b: Uint8Array, p: number): string {
  const g = GROUPS;
  for (let i = 0; i < 8; i++) g[i] = (b[p + 2 * i]! << 8) | b[p + 2 * i + 1]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return `::ffff:${ipv4Text(b, p + 12)}`;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; i++) {
    if (g[i] !== 0) continue;
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  let sep = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += '::';
      sep = '';
      i += bestLen - 1;
      continue;
    }
    const v = g[i]!;
    s += sep + (v > 0xff ? HEX[v >> 8]! + HEX2[v & 0xff]! : HEX[v]!);
    sep = ':';
  }
  return s;
}

/** Scratch for ipv6Text's eight groups. */
const GROUPS = new Uint16Array(8);
/** Bytes in hex, without and with a leading zero (Number#toString(16) costs more than the rest of ipv6Text). */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2 = HEX.map((h) => h.padStart(2, '0'));

const UNITS = [
  ['ns', 1],
  ['us', 1e3],
  ['ms', 1e6],
  ['s', 1e9],
] as const;

/** Nanoseconds with a unit and three significant digits: "1.23 ms", "999 ns", "12.0 s". */
export function durationText(ns: number): string {
  const abs = Math.abs(ns);
  let i = UNITS.length - 1;
  while (i > 0 && abs < UNITS[i]![1]) i--;
  const [unit, scale] = UNITS[i]!;
  const v = ns / scale;
  return `${i === 0 ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)} ${unit}`;
}
