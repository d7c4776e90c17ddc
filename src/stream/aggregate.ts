/**
 * The aggregate stage of a stream: counts of records per value of some
 * decoded fields, instead of the records themselves. Pure: no kernel.
 */
import type { Decoded } from './filter.js';

/** One group of an aggregation. */
export interface Group {
  key: Record<string, unknown>;
  count: number;
  /** Milliseconds since the stream started. */
  first_seen_ms: number;
  last_seen_ms: number;
}

/** Counts records per value of the group-by fields (`cpu` is the perf buffer's cpu). */
export class Aggregator {
  private readonly groups = new Map<unknown, Group>();
  /** Records that fell into no group because the group limit was reached. */
  overflow = 0;

  constructor(
    private readonly groupBy: string[],
    private readonly maxGroups: number,
  ) {}

  private field(f: string, data: Decoded, cpu: number | null): unknown {
    return f === 'cpu' && !(data && 'cpu' in data) ? cpu : (data?.[f] ?? null);
  }

  /**
   * The group's identity: one field's value itself (the common case, no string built per record),
   * else the JSON of all values. Objects are told apart from strings by a NUL prefix.
   */
  private identity(data: Decoded, cpu: number | null): unknown {
    if (this.groupBy.length === 1) {
      const v = this.field(this.groupBy[0] as string, data, cpu);
      return typeof v === 'object' && v !== null ? '\u0000' + JSON.stringify(v) : v;
    }
    return '\u0000' + JSON.stringify(this.groupBy.map((f) => this.field(f, data, cpu)));
  }

  /** Adds one record seen at `atMs`. */
  add(data: Decoded, cpu: number | null, atMs: number): void {
    const id = this.identity(data, cpu);
    const g = this.groups.get(id);
    if (g) {
      g.count++;
      g.last_seen_ms = atMs;
    } else if (this.groups.size < this.maxGroups) {
      const key = Object.fromEntries(this.groupBy.map((f) => [f, this.field(f, data, cpu)]));
      this.groups.set(id, { key, count: 1, first_seen_ms: atMs, last_seen_ms: atMs });
    } else {
      this.overflow++;
    }
  }

  /** Distinct groups seen. */
  get size(): number {
    return this.groups.size;
  }

  /** The `n` largest groups, largest first. */
  top(n: number): Group[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count || a.first_seen_ms - b.first_seen_ms).slice(0, n);
  }
}
