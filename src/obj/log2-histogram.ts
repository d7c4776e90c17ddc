/**
 * Log2 histograms as libbpf-tools keep them: an array of slot counts where
 * slot i counts values v with floor(log2(v)) == i (0 and 1 both in slot 0).
 * Buckets and the text drawing follow libbpf-tools' print_log2_hist.
 */

/** One slot: the values it covers (inclusive) and how many fell in it. */
export interface Log2Bucket {
  /** Lowest value of the slot; a decimal string past 2^53. */
  low: number | string;
  /** Highest value of the slot; a decimal string past 2^53. */
  high: number | string;
  count: number;
}

/** A histogram: its buckets up to the last non-empty slot, their total, and the drawing. */
export interface Log2Histogram {
  buckets: Log2Bucket[];
  total: number;
  /** libbpf-tools style rows `low -> high : count |****|` under a header; '' when every slot is 0. */
  drawing: string;
}

/** Most slots a log2 histogram of 64-bit values can have. */
export const MAX_LOG2_SLOTS = 64;

const STARS = 40;

function exact(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Buckets, total and drawing of slot counts (trailing empty slots trimmed, leading ones kept). */
export function log2Histogram(counts: readonly number[]): Log2Histogram {
  let last = -1;
  let max = 0;
  let total = 0;
  counts.forEach((c, i) => {
    if (c > 0) last = i;
    max = Math.max(max, c);
    total += c;
  });
  const buckets = counts.slice(0, last + 1).map((count, i) => ({
    low: i === 0 ? 0 : exact(1n << BigInt(i)),
    high: exact((1n << BigInt(i + 1)) - 1n),
    count,
  }));
  return { buckets, total, drawing: draw(buckets, max) };
}

/** The rows print_log2_hist prints: wider columns and half the stars past slot 32. */
function draw(buckets: readonly Log2Bucket[], max: number): string {
  if (buckets.length === 0) return '';
  const narrow = buckets.length - 1 <= 32;
  const width = narrow ? 10 : 20;
  const stars = narrow ? STARS : STARS / 2;
  const lines = [`${' '.repeat(narrow ? 5 : 15)}${'value'.padEnd(narrow ? 19 : 29)} : count    distribution`];
  for (const b of buckets) {
    const n = Math.floor((b.count * stars) / max);
    lines.push(`${String(b.low).padStart(width)} -> ${String(b.high).padEnd(width)} : ${String(b.count).padEnd(8)} |${'*'.repeat(n)}${' '.repeat(stars - n)}|`);
  }
  return lines.join('\n');
}
