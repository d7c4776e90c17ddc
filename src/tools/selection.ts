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
  /** What cut the list when it was cut: the item limit, or the result's byte budget. */
  cut_by?: 'limit' | 'max_bytes';
}

/** Selects the items of several lists under one limit and one byte budget, recording each list's counts. */
export class Selection {
  /** Per list name: how it was bounded. */
  readonly counts: Record<string, ListMeta> = {};
  /** True once any list was cut, at the limit or the byte budget. */
  truncated = false;

  constructor(
    private readonly limit: number,
    /** Bytes (as JSON) the lists may still take together. */
    private bytesLeft = Infinity,
  ) {}

  /** Bytes the lists may still take. */
  get remaining(): number {
    return this.bytesLeft;
  }

  /** Takes `bytes` from the budget for something returned beside the lists (a map's entries). */
  spend(bytes: number): void {
    this.bytesLeft = Math.max(0, this.bytesLeft - bytes);
  }

  /** The leading rows of list `name` that fit in what is left of the byte budget; the cut is recorded in its counts. */
  fit<T>(name: string, rows: T[]): T[] {
    // Each row counts its JSON and a comma: the list's JSON less one byte. One stringify of the list when all of it fits, else row by row.
    const whole = rows.length ? Buffer.byteLength(JSON.stringify(rows)) - 1 : 0;
    let n = 0;
    if (whole <= this.bytesLeft) {
      n = rows.length;
      this.bytesLeft -= whole;
    } else {
      for (const row of rows) {
        const bytes = Buffer.byteLength(JSON.stringify(row)) + 1;
        if (bytes > this.bytesLeft) break;
        this.bytesLeft -= bytes;
        n++;
      }
    }
    const meta = (this.counts[name] ??= { total: rows.length, returned: rows.length, truncated: false });
    if (meta.truncated) meta.cut_by = 'limit';
    if (n < rows.length) {
      Object.assign(meta, { returned: n, truncated: true, cut_by: 'max_bytes' });
      this.truncated = true;
      this.bytesLeft = 0;
    }
    return rows.slice(0, n);
  }

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
