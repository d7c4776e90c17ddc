/**
 * Bounded lists: the one rule every list a tool returns follows. Items are
 * filtered, cut at a limit, and the cut is reported (how many matched, how
 * many were returned), so nothing unbounded reaches a model and nothing is
 * left out silently.
 */
import { jsonText, keepJsonText } from './json-text.js';

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
    // Each row counts its JSON and a comma: the list's JSON less one byte. One encoding of the list when all of it fits, else row by row.
    // The rows taken are what the result carries: their text is kept for the result's own encoding.
    const whole = jsonText(rows);
    const wholeBytes = rows.length ? Buffer.byteLength(whole) - 1 : 0;
    let taken: T[];
    if (wholeBytes <= this.bytesLeft) {
      taken = rows.slice();
      this.bytesLeft -= wholeBytes;
      keepJsonText(taken, whole);
    } else {
      const texts: string[] = [];
      for (const row of rows) {
        const text = jsonText(row);
        const bytes = Buffer.byteLength(text) + 1;
        if (bytes > this.bytesLeft) break;
        this.bytesLeft -= bytes;
        texts.push(text);
      }
      taken = rows.slice(0, texts.length);
      keepJsonText(taken, `[${texts.join(',')}]`);
    }
    const meta = (this.counts[name] ??= { total: rows.length, returned: rows.length, truncated: false });
    if (meta.truncated) meta.cut_by = 'limit';
    if (taken.length < rows.length) {
      Object.assign(meta, { returned: taken.length, truncated: true, cut_by: 'max_bytes' });
      this.truncated = true;
      this.bytesLeft = 0;
    }
    return taken;
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
