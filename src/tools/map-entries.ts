/**
 * inspect_state's `map_entries`: a map's contents as read by the kernel
 * layer, shaped for the result and summarised in text (counts and drawn
 * histograms, numbers only: keys and values are traced data).
 */
import type { MapContents } from '../kernel/map-contents.js';

/** Histograms drawn in full in a summary; the others are in the structured result only. */
const SUMMARY_HISTOGRAMS = 4;

/** The map_entries result member of a map's contents. */
export function mapEntriesOf(m: MapContents) {
  return {
    map_id: m.id,
    name: m.name,
    type: m.type,
    key_type: m.keyType,
    value_type: m.valueType,
    per_cpu: m.perCpu,
    entries: m.entries,
    count: m.entries.length,
    truncated: m.truncated,
    ...(m.cutAt ? { truncated_at: m.cutAt } : {}),
    next_cursor: m.nextCursor,
    ...(m.cutArrays.length ? { cut_arrays: m.cutArrays } : {}),
  };
}

/** The summary lines of map_entries; `read` is false when only the types were asked for. */
export function mapEntriesSummary(m: MapContents, read: boolean): string {
  const what = read ? `${m.entries.length} entr${m.entries.length === 1 ? 'y' : 'ies'}` : 'types only';
  const next = m.cutAt === 'bytes' ? 'the page reached its byte cap' : 'the page reached maps.limit';
  const more = m.truncated ? `; it holds more${read ? ` (${next}): call again with maps.cursor set to next_cursor` : ''}` : read ? '' : '; it is empty';
  const lines = [`Map ${m.id} (${m.type}): ${what}${m.keyType === null && m.valueType === null ? ' as hex (no BTF)' : ''}${more}.`];
  const drawn = m.entries.flatMap((e, i) => ('histogram' in e && e.histogram ? [{ i, key: e.key, h: e.histogram }] : []));
  for (const { i, key, h } of drawn.slice(0, SUMMARY_HISTOGRAMS)) {
    // Named by its key when the key is a number (a string key could come from the traced system), else by its place.
    const which = typeof key === 'number' ? `at key ${key}` : `of map_entries.entries[${i}]`;
    lines.push(h.total === 0 ? `Histogram ${which}: empty.` : `Histogram ${which} (total ${h.total}):\n${h.drawing}`);
  }
  if (drawn.length > SUMMARY_HISTOGRAMS) lines.push(`${drawn.length - SUMMARY_HISTOGRAMS} more histogram(s) in map_entries.`);
  return lines.join('\n');
}
