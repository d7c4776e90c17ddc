/**
 * The aggregate stage of a stream: counts of records per value of some
 * decoded fields (dotted paths), and statistics of one numeric field, instead
 * of the records themselves. Pure: no kernel.
 */
import { getter } from './fields.js';
import type { Decoded } from './filter.js';
import { type Stat, type ValueBudget, KEPT_IN_ALL, ValueStats } from './value-stats.js';

/** One group of an aggregation; with a value field, the statistics asked for (null in a group without values). */
export interface Group {
  key: Record<string, unknown>;
  count: number;
  /** Milliseconds since the stream started. */
  first_seen_ms: number;
  last_seen_ms: number;
  sum?: number | null;
  min?: number | null;
  max?: number | null;
  avg?: number | null;
  p50?: number | null;
  p90?: number | null;
  p99?: number | null;
}

/** Statistics of one numeric field per group, and which statistic orders the groups. */
export interface ValueAggregate {
  field: string;
  stats: readonly Stat[];
  by: Stat;
}

/** A group as {@link Aggregator.add} returns it, to count more of it. */
export type GroupHandle = object;

/** A group as it is counted. */
interface Counted {
  key: Record<string, unknown>;
  count: number;
  first_seen_ms: number;
  last_seen_ms: number;
  values: ValueStats | undefined;
}

/** Counts records per value of the group-by fields (`cpu` is the perf buffer's cpu). */
export class Aggregator {
  private readonly groups = new Map<unknown, Counted>();
  /** Records that fell into no group because the group limit was reached. */
  overflow = 0;
  private readonly getters: Map<string, (d: Decoded) => unknown>;
  private readonly valueOf: ((d: Decoded) => unknown) | undefined;
  private readonly budget: ValueBudget = { left: KEPT_IN_ALL };

  constructor(
    private readonly groupBy: string[],
    private readonly maxGroups: number,
    private readonly value?: ValueAggregate,
  ) {
    this.getters = new Map(groupBy.map((f) => [f, getter(f)]));
    this.valueOf = value && getter(value.field);
  }

  private field(f: string, data: Decoded, cpu: number | null): unknown {
    return f === 'cpu' && !(data && 'cpu' in data) ? cpu : ((this.getters.get(f) as (d: Decoded) => unknown)(data) ?? null);
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

  /**
   * Adds one record seen at `atMs`; returns its group, or null when it fell into none (the group
   * limit). Another record of the same group can then be counted with {@link again} without its data.
   */
  add(data: Decoded, cpu: number | null, atMs: number): GroupHandle | null {
    const id = this.identity(data, cpu);
    let g = this.groups.get(id);
    if (g) {
      g.count++;
      g.last_seen_ms = atMs;
    } else if (this.groups.size < this.maxGroups) {
      const key = Object.fromEntries(this.groupBy.map((f) => [f, this.field(f, data, cpu)]));
      const values = this.value && new ValueStats(this.budget, this.value.stats.some((s) => s.startsWith('p')));
      g = { key, count: 1, first_seen_ms: atMs, last_seen_ms: atMs, values };
      this.groups.set(id, g);
    } else {
      this.overflow++;
      return null;
    }
    if (g.values && this.valueOf) {
      const v = this.valueOf(data);
      if (typeof v === 'number' || typeof v === 'string') g.values.add(Number(v));
    }
    return g;
  }

  /** Counts `n` more records seen at `atMs` in a group {@link add} returned (null: over the limit). Not for value statistics. */
  again(g: GroupHandle | null, atMs: number, n = 1): void {
    if (g === null) {
      this.overflow += n;
      return;
    }
    (g as Counted).count += n;
    (g as Counted).last_seen_ms = atMs;
  }

  /** Distinct groups seen. */
  get size(): number {
    return this.groups.size;
  }

  /** The `n` largest groups by count or by the value statistic asked for, largest first. */
  top(n: number): Group[] {
    const by = this.value?.by ?? 'count';
    const rank = (g: Counted): number => (by === 'count' ? g.count : (g.values?.stat(by) ?? -Infinity));
    return [...this.groups.values()]
      .sort((a, b) => rank(b) - rank(a) || b.count - a.count || a.first_seen_ms - b.first_seen_ms)
      .slice(0, n)
      .map(({ values, ...g }) => {
        if (!values || !this.value) return g;
        const stats = this.value.stats.filter((s): s is Exclude<Stat, 'count'> => s !== 'count');
        return { ...g, ...Object.fromEntries(stats.map((s) => [s, values.stat(s)])) };
      });
  }
}
