/**
 * Statistics of one numeric field per aggregation group: count, sum, min,
 * max, mean and percentiles. Percentiles are exact (nearest rank) while a
 * group has at most {@link KEPT_PER_GROUP} values, and over a uniform sample
 * of that many (reservoir sampling) past it, so memory stays bounded; all
 * groups together keep at most {@link KEPT_IN_ALL}. Pure: no kernel.
 */

/** The statistics an aggregate can report. */
export const STATS = ['count', 'sum', 'min', 'max', 'avg', 'p50', 'p90', 'p99'] as const;

/** One of {@link STATS}. */
export type Stat = (typeof STATS)[number];

/** Values one group keeps for its percentiles before it samples. */
export const KEPT_PER_GROUP = 10_000;
/** Values all groups of one aggregation keep together. */
export const KEPT_IN_ALL = 1 << 20;

/** The value budget shared by the groups of one aggregation. */
export interface ValueBudget {
  left: number;
}

/** The running statistics of one group's values (numbers; 64-bit values past 2^53 are rounded). */
export class ValueStats {
  /** Values seen. */
  n = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  private readonly kept: number[] = [];
  /** Whether `kept` is in order (it is sorted when a percentile is asked, and again after more values). */
  private sorted = true;

  constructor(
    private readonly budget: ValueBudget,
    private readonly wantsPercentiles: boolean,
  ) {}

  /** Adds one value. */
  add(v: number): void {
    this.n++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (!this.wantsPercentiles) return;
    this.sorted = false;
    if (this.kept.length < KEPT_PER_GROUP && this.budget.left > 0) {
      this.kept.push(v);
      this.budget.left--;
    } else {
      const j = Math.floor(Math.random() * this.n);
      if (j < this.kept.length) this.kept[j] = v;
    }
  }

  /** Whether the percentiles come from a sample rather than every value. */
  get sampled(): boolean {
    return this.kept.length < this.n;
  }

  /** One statistic; null for a group without values. */
  stat(s: Exclude<Stat, 'count'>): number | null {
    if (this.n === 0) return null;
    switch (s) {
      case 'sum':
        return this.sum;
      case 'min':
        return this.min;
      case 'max':
        return this.max;
      case 'avg':
        return this.sum / this.n;
      default:
        return this.percentile(Number(s.slice(1)) / 100);
    }
  }

  /** The nearest-rank percentile `q` (0..1) of the kept values. */
  private percentile(q: number): number | null {
    const k = this.kept;
    if (k.length === 0) return null;
    if (!this.sorted) {
      k.sort((a, b) => a - b);
      this.sorted = true;
    }
    return k[Math.max(0, Math.ceil(q * k.length) - 1)] as number;
  }
}
