/**
 * The text content of a result: the summary and a compact, bounded
 * rendering of the data, so a client that forwards only text still gives a
 * model the answer. Lists of objects become small tables (one header row of
 * column names, then one row per item, nested objects flattened into dotted
 * columns); other values compact JSON. What does not fit is said, never cut
 * silently.
 */

type Row = Record<string, unknown>;

/** Strings longer than this (a verifier log, an iterator's output) get a line of their own, after the lists. */
const LONG_TEXT = 200;

const isPlainObject = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One cell: strings as they are (newlines escaped), everything else as compact JSON. */
function cell(v: unknown): string {
  if (v === undefined) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.replace(/\r?\n/g, '\\n').replace(/\|/g, '\\|');
}

/** A row's columns: nested objects flattened one level deep into dotted names (`data.pid`). */
function flatten(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (isPlainObject(v) && Object.keys(v).length > 0 && Object.keys(v).length <= 16) for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = v2;
    else out[k] = v;
  }
  return out;
}

/** A list (items as objects, or `{columns, rows}`) as header and rows, or undefined when it is not a list of objects. */
function table(value: unknown): { columns: string[]; rows: unknown[][] } | undefined {
  if (isPlainObject(value) && Array.isArray(value.columns) && Array.isArray(value.rows) && value.columns.every((c) => typeof c === 'string')) {
    return { columns: value.columns as string[], rows: (value.rows as unknown[]).map((r) => (Array.isArray(r) ? r : [r])) };
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every(isPlainObject)) return undefined;
  const flat = value.map(flatten);
  const columns = [...new Set(flat.flatMap((r) => Object.keys(r)))];
  return { columns, rows: flat.map((r) => columns.map((c) => r[c])) };
}

/** Lines of text kept within a byte budget, counting what they had to leave out. */
class Bounded {
  readonly lines: string[] = [];
  private bytes = 0;
  readonly left: string[] = [];

  constructor(private readonly budget: number) {}

  /** Adds the line if it fits; false once the budget is spent. */
  add(line: string): boolean {
    const n = Buffer.byteLength(line) + 1;
    if (this.left.length || this.bytes + n > this.budget) return false;
    this.bytes += n;
    this.lines.push(line);
    return true;
  }
}

/** The rendering of `data` in at most about `budget` bytes: short scalars on one line, then each list as a table, then the rest (objects, long strings) as compact JSON, smallest first. */
export function renderData(data: Row, budget: number): string {
  const out = new Bounded(budget);
  const entries = Object.entries(data).filter(([k, v]) => v !== undefined && k !== 'success' && k !== 'tool_version');
  const short = (v: unknown) => v === null || (typeof v !== 'object' && !(typeof v === 'string' && v.length > LONG_TEXT));
  const scalars = entries.filter(([, v]) => short(v));
  const tables = entries.flatMap(([k, v]) => {
    const t = table(v);
    return t ? [[k, t] as const] : [];
  });
  const size = (v: unknown) => JSON.stringify(v).length;
  const rest = entries.filter(([k, v]) => !short(v) && !tables.some(([t]) => t === k)).sort((a, b) => size(a[1]) - size(b[1]));
  if (scalars.length && !out.add(scalars.map(([k, v]) => `${k}: ${cell(v)}`).join('; '))) out.left.push(scalars.map(([k]) => k).join(', '));
  for (const [name, t] of tables) {
    if (out.left.length || !out.add(`${name} (${t.rows.length}):`) || !out.add(t.columns.join(' | '))) {
      out.left.push(`\`${name}\` (${t.rows.length} rows)`);
      continue;
    }
    const shown = t.rows.findIndex((r) => !out.add(r.map(cell).join(' | ')));
    if (shown >= 0) out.left.push(`${t.rows.length - shown} of the ${t.rows.length} rows of \`${name}\``);
  }
  for (const [name, v] of rest) if (!out.add(`${name}: ${JSON.stringify(v)}`)) out.left.push(`\`${name}\``);
  if (out.left.length) out.lines.push(`[text cut at ${budget} bytes; left out here: ${out.left.join(', ')}; all of it is in structuredContent]`);
  return out.lines.join('\n');
}
