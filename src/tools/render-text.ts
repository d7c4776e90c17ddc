/**
 * The text content of a result: the summary and a compact, bounded
 * rendering of the data, so a client that forwards only text still gives a
 * model the answer. Lists of objects become small tables (one header row of
 * column names, then one row per item, nested objects flattened into dotted
 * columns); other values compact JSON. What does not fit is said, never cut
 * silently.
 *
 * Every value is written as JSON, strings as JSON string literals, so a
 * string from the traced host is always quoted and can neither end its line
 * nor pass for a column, a heading or prose. JSON escapes the C0 controls
 * already (`\n`, `\u001b`); what it leaves as it is but a reader could take
 * for layout or not see at all (Unicode Cc, Cf, Zl, Zp: DEL and the C1
 * controls, zero-width and bidi controls, U+2028/U+2029, U+FEFF, tag
 * characters) is escaped the same way, `\uXXXX` (a UTF-16 pair past
 * U+FFFF), so every value still parses as JSON.
 */

type Row = Record<string, unknown>;

/** Strings longer than this (a verifier log, an iterator's output) get a line of their own, after the lists. */
const LONG_TEXT = 200;

const isPlainObject = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The characters JSON.stringify leaves as they are that the text escapes too: invisible, format and separator characters. */
const UNSEEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** A character as JSON escapes it: `\uXXXX`, a UTF-16 pair of them past U+FFFF. */
const escaped = (c: string): string => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/** A value as compact JSON with every unseen character escaped: what the text shows of any value. */
function jsonText(v: unknown): string {
  return (JSON.stringify(v) ?? 'null').replace(UNSEEN, escaped);
}

/** One cell: compact JSON (strings quoted), empty for a missing value. */
const cell = (v: unknown): string => (v === undefined ? '' : jsonText(v));

/** A column name: bare when it is a dotted identifier (`data.pid`), else quoted like a value (a name from a record's BTF). */
const column = (name: string): string => (/^[A-Za-z_][\w.]*$/.test(name) ? name : jsonText(name));

/** Whether a row's value is flattened into dotted columns: a nested object of 1 to 16 members. */
function flattened(v: unknown): v is Row {
  if (!isPlainObject(v)) return false;
  const n = Object.keys(v).length;
  return n > 0 && n <= 16;
}

/** A row's columns: nested objects flattened one level deep into dotted names (`data.pid`). */
function flatten(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (flattened(v)) for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = v2;
    else out[k] = v;
  }
  return out;
}

/** The columns of rows as {@link flatten} makes them, in first-seen order, without flattening every row. */
function columnsOf(rows: readonly Row[]): string[] {
  const columns = new Set<string>();
  for (const row of rows) {
    for (const k in row) {
      const v = row[k];
      if (flattened(v)) for (const k2 in v) columns.add(`${k}.${k2}`);
      else columns.add(k);
    }
  }
  return [...columns];
}

/** A table: its header, its row count, and row `i`'s cells, made only for the rows the text shows. */
interface Table {
  columns: string[];
  count: number;
  row(i: number): unknown[];
}

/** A list (items as objects, or `{columns, rows}`) as a table, or undefined when it is not a list of objects. */
function table(value: unknown): Table | undefined {
  if (isPlainObject(value) && Array.isArray(value.columns) && Array.isArray(value.rows) && value.columns.every((c) => typeof c === 'string')) {
    const rows = value.rows as unknown[];
    return { columns: value.columns as string[], count: rows.length, row: (i) => (Array.isArray(rows[i]) ? rows[i] : [rows[i]]) };
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every(isPlainObject)) return undefined;
  const columns = columnsOf(value);
  return {
    columns,
    count: value.length,
    row: (i) => {
      const flat = flatten(value[i] as Row);
      return columns.map((c) => flat[c]);
    },
  };
}

/** Lines of text kept within a byte budget, counted as they go on the wire (inside a JSON string: quotes, backslashes and the newline escaped), and what they had to leave out. */
class Bounded {
  readonly lines: string[] = [];
  private bytes = 0;
  readonly left: string[] = [];

  constructor(private readonly budget: number) {}

  /** Adds the line if it fits; false once the budget is spent. */
  add(line: string): boolean {
    const n = Buffer.byteLength(JSON.stringify(line));
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
    if (out.left.length || !out.add(`${name} (${t.count}):`) || !out.add(t.columns.map(column).join(' | '))) {
      out.left.push(`\`${name}\` (${t.count} rows)`);
      continue;
    }
    let shown = 0;
    while (shown < t.count && out.add(t.row(shown).map(cell).join(' | '))) shown++;
    if (shown < t.count) out.left.push(`${t.count - shown} of the ${t.count} rows of \`${name}\``);
  }
  for (const [name, v] of rest) if (!out.add(`${name}: ${jsonText(v)}`)) out.left.push(`\`${name}\``);
  if (out.left.length) out.lines.push(`[text cut at ${budget} bytes; left out here: ${out.left.join(', ')}; all of it is in structuredContent]`);
  return out.lines.join('\n');
}
