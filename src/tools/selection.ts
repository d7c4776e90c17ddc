/**
 * Bounded lists: the one rule every list a tool returns follows. Items are
 * filtered, cut at a limit, and the cut is reported (how many matched, how
 * many were returned), so nothing unbounded reaches a model and nothing is
 * left out silently.
 */

/** How one list was bounded. */
export interface ListMeta {
  /** Items matching the filters. */
  total: number;
  /** Items returned: at most the limit. */
  returned: number;
  /** Some matching items were left out. */
  truncated: boolean;
}

/** Selects the items of several lists under one limit, recording each list's counts. */
export class Selection {
  /** Per list name: how it was bounded. */
  readonly counts: Record<string, ListMeta> = {};
  /** True once any list was cut at the limit. */
  truncated = false;

  constructor(private readonly limit: number) {}

  /** The first `limit` items that pass `keep`, recorded under `name`. */
  take<T>(name: string, items: readonly T[], keep: (item: T) => boolean = () => true): T[] {
    const matched = items.filter(keep);
    const kept = matched.slice(0, this.limit);
    const truncated = matched.length > kept.length;
    this.counts[name] = { total: matched.length, returned: kept.length, truncated };
    this.truncated ||= truncated;
    return kept;
  }
}
