/**
 * Everything the CLI writes: text with control characters escaped (strings
 * from the traced host are data and must not drive the terminal), JSON with
 * the same characters escaped, aligned tables, and colours only on a
 * terminal without NO_COLOR.
 */

/**
 * Characters that could steer a terminal or hide text: C0 controls, DEL, C1 controls, and the bidi and
 * zero-width format characters.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** The same, but keeping newline and tab (for multi-line text such as a tool's text content). */
const UNSAFE_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

const hex = (c: string): string => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** One line of text with every unsafe character (newlines too) written as \xNN or \uNNNN. */
export function escapeLine(s: string): string {
  return s.replace(UNSAFE, hex);
}

/** Multi-line text with unsafe characters escaped, newlines and tabs kept. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE_KEEP_LINES, hex);
}

/** What JSON.stringify leaves unescaped in strings but a terminal may act on: DEL, C1, bidi and zero-width characters. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** JSON with unsafe characters escaped as \uNNNN (still valid JSON: C0 controls JSON.stringify escapes itself, the rest occur only in strings). */
export function safeJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
  return (text ?? 'null').replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Where output goes and how it may look. */
export interface Style {
  /** stdout is a terminal. */
  tty: boolean;
  /** Colours are on: a terminal, NO_COLOR unset, TERM not dumb. */
  colour: boolean;
  /** The terminal's width in columns (80 when unknown). */
  width: number;
}

/** The style of a stream: colours only on a terminal, and never with NO_COLOR set (whatever its value) or TERM=dumb. */
export function styleOf(stream: NodeJS.WriteStream): Style {
  const tty = stream.isTTY === true;
  const colour = tty && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
  return { tty, colour, width: (tty && stream.columns) || 80 };
}

/** ANSI SGR codes the CLI uses. */
const SGR = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;

/** `text` in a colour or weight when colours are on; as it is otherwise. */
export function paint(style: Style, code: keyof typeof SGR, text: string): string {
  return style.colour ? `\x1b[${SGR[code]}m${text}\x1b[0m` : text;
}

/** A column of a table: its heading, and whether its cells are right-aligned (numbers). */
export interface Column {
  header: string;
  right?: boolean;
  /** Widest a cell may be before it is cut with an ellipsis (none: never cut). */
  max?: number;
}

/** A cell's text: strings as they are, numbers and booleans printed, objects as JSON, nothing as "-"; always escaped. */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return escapeLine(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return safeJson(value);
}

/** `s` cut to `max` characters with an ellipsis. */
function cut(s: string, max: number | undefined): string {
  return max === undefined || s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`;
}

/** Lines of a table: a heading, then rows aligned in columns two spaces apart; cells escaped and cut to their column's max. */
export function table(style: Style, columns: Column[], rows: unknown[][]): string[] {
  const text = rows.map((r) => columns.map((c, i) => cut(cell(r[i]), c.max)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...text.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((s, i) => (i === cells.length - 1 && !columns[i]?.right ? s : columns[i]?.right ? s.padStart(widths[i] as number) : s.padEnd(widths[i] as number)))
      .join('  ');
  return [paint(style, 'bold', line(columns.map((c) => c.header))), ...text.map(line)];
}

/** Writes lines to stdout. */
export function print(lines: string | string[]): void {
  const all = typeof lines === 'string' ? [lines] : lines;
  if (all.length) process.stdout.write(all.join('\n') + '\n');
}

/** Writes a note to stderr (progress, summaries): never stdout, which carries the answer. */
export function note(text: string): void {
  process.stderr.write(escapeText(text) + '\n');
}
