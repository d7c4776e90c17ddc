/**
 * How trace prints a ring buffer's events as they come: a table (on a
 * terminal with a live status line below it), plain `field=value` lines,
 * NDJSON, or one JSON document at the end. Every string from the traced host
 * is escaped; char arrays the server could not read as text (they hold
 * control bytes) are shown as text with those bytes escaped.
 */
import { type Style, cell, escapeLine, paint, safeJson } from './output.js';

/** The output formats of trace. */
export type EventFormat = 'table' | 'plain' | 'ndjson' | 'json';

/** A field's JSON Schema, as far as printing needs it. */
export interface FieldSchema {
  type?: string | string[];
  maxLength?: number;
  anyOf?: FieldSchema[];
}

/** The JSON Schema of a stream's events (stream_events' `schema`), as far as printing needs it. */
export interface EventSchema {
  properties?: Record<string, FieldSchema>;
}

/** One event as stream_events returns it. */
export interface StreamEvent {
  cpu?: number;
  data?: unknown;
  decode_error?: string;
  raw?: string;
}

/** The running figures of a stream, for the status line and the summary. */
export interface StreamFigures {
  received: number;
  matched: number;
  lost: number | null;
  elapsedMs: number;
}

/** A char array the server returned as numbers: the schema says it may be a string or an array. */
const isCharArray = (s: FieldSchema | undefined): boolean =>
  Array.isArray(s?.anyOf) && s.anyOf.some((a) => a.type === 'string') && s.anyOf.some((a) => a.type === 'array');

/** The bytes of a char array up to its first NUL, as text with anything unsafe escaped (bytes that are not UTF-8 as \xNN). */
export function charText(bytes: number[]): string {
  const end = bytes.indexOf(0);
  const buf = Buffer.from((end < 0 ? bytes : bytes.slice(0, end)).map((b) => b & 0xff));
  try {
    return escapeLine(new TextDecoder('utf-8', { fatal: true }).decode(buf));
  } catch {
    return [...buf].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  }
}

/** A column's width in a live table, fixed before the first event: from the field's type and length. */
function widthOf(name: string, s: FieldSchema | undefined): number {
  const max = s?.maxLength ?? s?.anyOf?.find((a) => a.maxLength !== undefined)?.maxLength;
  const type = Array.isArray(s?.type) ? s.type[0] : s?.type;
  const base = type === 'integer' || type === 'number' ? 7 : max !== undefined ? Math.min(max, 24) : 16;
  return Math.max(name.length, base);
}

/** Sorts events by a field (`-field`: descending), numbers as numbers. */
export function sortEvents(events: StreamEvent[], spec: string): StreamEvent[] {
  const desc = spec.startsWith('-');
  const field = desc ? spec.slice(1) : spec;
  const value = (e: StreamEvent) => (e.data as Record<string, unknown> | undefined)?.[field];
  return [...events].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
    return desc ? -c : c;
  });
}

/** Prints events in one format; on a terminal in table format, keeps a status line under the rows. */
export class EventPrinter {
  private columns: string[] = [];
  private widths: number[] = [];
  private headed = false;
  private statusShown = false;
  /** Events kept for a json document printed at the end. */
  readonly kept: StreamEvent[] = [];

  constructor(
    private readonly format: EventFormat,
    private readonly style: Style,
    private readonly schema: EventSchema | null,
    fields: string[] | undefined,
  ) {
    this.columns = fields ?? Object.keys(schema?.properties ?? {});
    this.widths = this.columns.map((c, i) => (i === this.columns.length - 1 ? 0 : widthOf(c, schema?.properties?.[c])));
  }

  /** A field's value as a cell: char arrays as text, the rest as output.cell does. */
  private text(name: string, v: unknown): string {
    if (Array.isArray(v) && isCharArray(this.schema?.properties?.[name])) return charText(v as number[]);
    return cell(v);
  }

  /** One event's line in table or plain format. */
  private line(e: StreamEvent): string {
    if (e.data === undefined || typeof e.data !== 'object' || e.data === null) return `decode error: ${escapeLine(e.decode_error ?? '')} raw=${escapeLine(e.raw ?? '')}`;
    const data = e.data as Record<string, unknown>;
    if (this.columns.length === 0) this.columns = Object.keys(data);
    if (this.format === 'plain') {
      return this.columns
        .map((c) => {
          const t = this.text(c, data[c]);
          return `${c}=${t === '' || /[\s"=]/.test(t) ? `"${t.replace(/"/g, '\\"')}"` : t}`;
        })
        .join(' ');
    }
    return this.columns
      .map((c, i) => {
        const t = this.text(c, data[c]);
        const w = this.widths[i] ?? 0;
        if (w === 0) return t;
        const cut = t.length > w ? `${t.slice(0, w - 1)}…` : t;
        const type = this.schema?.properties?.[c]?.type;
        return type === 'integer' || type === 'number' ? cut.padStart(w) : cut.padEnd(w);
      })
      .join(' ');
  }

  /** The table's heading, aligned as the rows. */
  private heading(): string {
    return paint(
      this.style,
      'bold',
      this.columns.map((c, i) => ((this.widths[i] ?? 0) === 0 ? c.toUpperCase() : c.toUpperCase().padEnd(this.widths[i] as number))).join(' '),
    );
  }

  /** Prints events (or keeps them, for json); `live` redraws the status line under them. */
  add(events: StreamEvent[], figures?: StreamFigures): void {
    if (this.format === 'json') {
      this.kept.push(...events);
      return;
    }
    const out: string[] = [];
    if (this.format === 'table' && !this.headed && (events.length > 0 || this.style.tty)) {
      this.headed = true;
      out.push(this.heading());
    }
    // On a terminal a table row never wraps: the status line is redrawn with a carriage return, which a wrapped row would break.
    const fit = (l: string) => (this.style.tty && l.length > this.style.width ? `${l.slice(0, this.style.width - 1)}…` : l);
    for (const e of events) out.push(this.format === 'ndjson' ? safeJson(e.data !== undefined ? (e.cpu !== undefined ? { cpu: e.cpu, ...(e.data as object) } : e.data) : e) : fit(this.line(e)));
    const live = this.style.tty && this.format === 'table' && figures !== undefined;
    let text = out.length ? out.join('\n') + '\n' : '';
    if (live) text = (this.statusShown ? '\r\x1b[K' : '') + text + paint(this.style, 'dim', statusLine(figures));
    else if (this.statusShown && text) text = '\r\x1b[K' + text;
    this.statusShown = live;
    if (text) process.stdout.write(text);
  }

  /** Clears the status line, if one is shown. */
  finish(): void {
    if (this.statusShown) process.stdout.write('\r\x1b[K');
    this.statusShown = false;
  }
}

/** The status line: events, rate, lost, time. */
export function statusLine(f: StreamFigures): string {
  const secs = f.elapsedMs / 1000;
  const rate = secs > 0 ? f.matched / secs : 0;
  return `${f.matched} events  ${rate.toFixed(1)}/s  lost ${f.lost ?? '?'}  ${secs.toFixed(0)} s  (Ctrl-C to end)`;
}
