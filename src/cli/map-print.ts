/**
 * How trace draws a map's answer at the end: log2 histograms as libbpf-tools
 * draw them (the server's drawing, one per key), counts as a sorted table,
 * stacks as the top functions and folded stacks (flame-graph input).
 */
import { type Style, cell, escapeLine, paint, safeJson, table } from './output.js';

/** One entry of inspect_state's map_entries. */
export interface MapEntry {
  key: unknown;
  value?: unknown;
  values?: unknown[];
  histogram?: { total: number; drawing: string };
}

/** A page of map entries and what the map holds. */
export interface MapPage {
  name: string;
  key_type: string | null;
  value_type: string | null;
  entries: MapEntry[];
}

/** inspect_state's folded stacks. */
export interface Stacks {
  total?: number;
  weight?: string;
  top_functions?: { function: string; self: number; total: number }[];
  folded?: { stack: string; weight: number }[];
  folded_left_out?: number;
  missing?: { user: number; kernel: number };
  note?: string;
}

/** The text formats of a map's answer. */
export type MapFormat = 'table' | 'plain';

/** A heading from a C type name: SYSCALL_ID for syscall_id, KEY for anything else. */
const headingOf = (type: string | null, fallback: string): string => (type && /^[A-Za-z_]\w*$/.test(type) ? type.toUpperCase() : fallback);

/** A per-CPU map's values summed (numbers), or the one value. */
const valueOf = (e: MapEntry): unknown =>
  e.values !== undefined && e.values.every((v) => typeof v === 'number') ? (e.values as number[]).reduce((a, b) => a + b, 0) : (e.value ?? e.values);

/** Orders entries: by `key`, `value`, or either with a leading `-` for descending (default: -value). */
export function sortEntries(entries: MapEntry[], spec = '-value'): MapEntry[] {
  const desc = spec.startsWith('-');
  const by = desc ? spec.slice(1) : spec;
  const of = (e: MapEntry) => (by === 'key' ? e.key : valueOf(e));
  return [...entries].sort((a, b) => {
    const x = of(a);
    const y = of(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : safeJson(x).localeCompare(safeJson(y));
    return desc ? -c : c;
  });
}

/** Histograms: one drawing per key (the key named when there is more than one, or it is not 0). */
export function histogramLines(style: Style, page: MapPage): string[] {
  if (page.entries.length === 0) return [`${escapeLine(page.name)}: no samples`];
  const keyed = page.entries.length > 1 || page.entries[0]?.key !== 0;
  const lines: string[] = [];
  for (const e of sortEntries(page.entries, 'key')) {
    if (keyed) lines.push(paint(style, 'bold', `${escapeLine(page.key_type ?? 'key')} = ${cell(e.key)}`));
    lines.push(...(e.histogram ? e.histogram.drawing.split('\n').map(escapeLine) : [`  ${cell(valueOf(e))}`]), '');
  }
  return lines.slice(0, -1);
}

/** Counts: a table of key and value (struct keys and values one column per member), sorted. */
export function countLines(style: Style, page: MapPage, format: MapFormat, sort?: string): string[] {
  const entries = sortEntries(page.entries, sort);
  if (format === 'plain') return entries.map((e) => `${cell(e.key)} ${cell(valueOf(e))}`);
  const members = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v) : undefined);
  const keyMembers = members(entries[0]?.key);
  const valueMembers = members(valueOf(entries[0] ?? { key: null }));
  const columns = [
    ...(keyMembers ? keyMembers.map((k) => ({ header: k.toUpperCase() })) : [{ header: headingOf(page.key_type, 'KEY') }]),
    ...(valueMembers ? valueMembers.map((k) => ({ header: k.toUpperCase(), right: true })) : [{ header: 'COUNT', right: true }]),
  ];
  const rows = entries.map((e) => {
    const v = valueOf(e);
    const k = e.key as Record<string, unknown>;
    return [...(keyMembers ? keyMembers.map((m) => k[m]) : [e.key]), ...(valueMembers ? valueMembers.map((m) => (v as Record<string, unknown>)[m]) : [v])];
  });
  return rows.length ? table(style, columns, rows) : [`${escapeLine(page.name)}: no entries`];
}

/** Stacks: in table format the top functions then the folded stacks; plain: the folded lines alone (`stack weight`). */
export function stackLines(style: Style, stacks: Stacks, format: MapFormat): string[] {
  const folded = (stacks.folded ?? []).map((f) => `${escapeLine(f.stack)} ${f.weight}`);
  if (format === 'plain') return folded;
  if (stacks.note && !stacks.folded?.length) return [escapeLine(stacks.note)];
  return [
    paint(style, 'bold', `top functions (weight: ${escapeLine(stacks.weight ?? 'value')}, total ${stacks.total ?? 0})`),
    ...table(
      style,
      [{ header: 'SELF', right: true }, { header: 'TOTAL', right: true }, { header: 'FUNCTION' }],
      (stacks.top_functions ?? []).map((f) => [f.self, f.total, f.function]),
    ),
    '',
    paint(style, 'bold', 'folded stacks (heaviest first)'),
    ...folded,
    ...(stacks.folded_left_out ? [`(${stacks.folded_left_out} more stacks left out)`] : []),
  ];
}
