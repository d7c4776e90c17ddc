/**
 * inspect_state's `map_entries` and `stacks`: a map's contents as read by the
 * kernel layer, shaped for the result and summarised in text (counts, drawn
 * histograms and folded stacks' totals, numbers only: keys, values and
 * frames are traced data).
 */
import type { MapContents } from '../kernel/map-contents.js';
import type { FoldedStacks, UnfoldableStacks } from '../symbolize/stack-counts.js';

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

/** Folded stacks listed at most in `stacks.folded`. */
export const FOLDED_LINES = 200;

/** The summary line of a map's folded stacks: numbers and ids only (the frames are traced data, in `stacks`). */
export function stacksSummary(s: FoldedStacks | UnfoldableStacks): string {
  if ('note' in s) return `Map ${s.map_id} counts by stack, but its stacks cannot be folded: ${s.note}.`;
  const u = s.unresolved_frames;
  const unnamed = u.process_gone + u.no_file + u.no_symbol + u.kernel_hidden;
  const lost = s.missing.user + s.missing.kernel;
  return (
    `Map ${s.map_id} counts by stack (stack trace map ${s.stack_map_id}): total ${s.total} (${s.weight}) over ${s.entries_folded} entries` +
    `${s.truncated ? ' (the map holds more: folded in part)' : ''}; ${s.folded.length + s.folded_left_out} distinct stacks, ` +
    `${s.folded.length} in stacks.folded${s.folded_left_out ? ` (${s.folded_left_out} lighter ones left out)` : ''}, the heaviest functions in stacks.top_functions.` +
    (s.total === 0 ? ' Nothing counted yet: is the program attached, and did its target run?' : '') +
    (lost ? ` Weight ${lost} has no stack (not taken or gone: stacks.missing).` : '') +
    (unnamed
      ? ` ${unnamed} frames unnamed (${u.process_gone} of exited processes, ${u.no_file} without a readable file, ${u.no_symbol} without a symbol, ${u.kernel_hidden} hidden by kptr_restrict).`
      : '')
  );
}
