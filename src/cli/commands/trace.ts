/**
 * `ebpf-mcp trace <entry>`: a catalog entry loaded with its parameters,
 * attached with auto, then read until -d or Ctrl-C: a ring buffer's events
 * printed as they come (a background stream read by cursor), or a map's
 * answer drawn at the end. The session ends with the command, and with it
 * every program, map and link the trace loaded.
 */
import { assignments, integer, jsonish, oneOf, seconds } from '../args.js';
import type { Command, Context } from '../command.js';
import type { Session } from '../connection.js';
import { UsageError } from '../errors.js';
import { type EventFormat, EventPrinter, type EventSchema, type StreamEvent, type StreamFigures, sortEvents } from '../event-print.js';
import { type Manifest, manifest } from '../manifest.js';
import { type MapFormat, type MapPage, type Stacks, countLines, histogramLines, sortEntries, stackLines } from '../map-print.js';
import { escapeLine, note, print, safeJson } from '../output.js';

/** The where operators, by the names stream_events takes and by symbol. */
const OPS: Record<string, string> = { eq: 'eq', ne: 'ne', lt: 'lt', le: 'le', gt: 'gt', ge: 'ge', in: 'in', glob: 'glob', prefix: 'prefix', contains: 'contains', '=': 'eq', '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '~': 'glob' };

/** A where clause from `field op value` (`pid == 12`, `comm glob "ba*"`, `port in 80,443`). */
export function whereClause(text: string): { field: string; op: string; value: unknown } {
  const m = /^\s*([^\s=!<>~]+)\s*(==|!=|<=|>=|=|<|>|~|\s(?:eq|ne|lt|le|gt|ge|in|glob|prefix|contains)\s)\s*(.*?)\s*$/.exec(text);
  const op = m && OPS[(m[2] as string).trim()];
  if (!m || !op || m[3] === '') throw new UsageError(`--where ${JSON.stringify(text)}: give 'field op value', op one of ${Object.keys(OPS).join(' ')}`);
  const raw = m[3] as string;
  return { field: m[1] as string, op, value: op === 'in' ? raw.split(',').map((v) => jsonish(v.trim())) : jsonish(raw) };
}

/** A promise that resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** What trace was asked to do, checked against the entry's manifest. */
export interface Plan {
  entry: Manifest;
  parameters: Record<string, unknown>;
  filters: Record<string, unknown>;
  fields: string[] | undefined;
  sort: string | undefined;
  durationMs: number | undefined;
  format: EventFormat;
}

/** The plan from the flags: -p becomes the entry's pid parameter where it has one, else a stream filter. */
export function plan(ctx: Pick<Context, 'values' | 'style'>, entry: Manifest): Plan {
  const v = ctx.values;
  const ring = 'buffer' in entry.read;
  const parameters = assignments(v.param as string[] | undefined, '--param');
  const filters: Record<string, unknown> = {};
  const has = (p: string) => entry.parameters.properties?.[p] !== undefined;
  if (v.pid !== undefined) {
    const pid = integer('-p', v.pid as string, 1, 2 ** 22);
    if (has('pid')) parameters.pid = pid;
    else if (ring) filters.pid = pid;
    else throw new UsageError(`${entry.name} has no pid parameter, and its answer is a map, which cannot be filtered after the fact`);
  }
  if (!ring) {
    for (const f of ['comm', 'where', 'fields'] as const) if (v[f] !== undefined) throw new UsageError(`--${f} filters events; ${entry.name} answers with a map`);
  }
  if (v.comm !== undefined) filters.comm = v.comm;
  if (v.where !== undefined) filters.where = (v.where as string[]).map(whereClause);
  const fields = v.fields === undefined ? undefined : (v.fields as string).split(',').map((f) => f.trim()).filter(Boolean);
  const formats = ring ? (['table', 'plain', 'ndjson', 'json'] as const) : (['table', 'plain', 'json'] as const);
  const format = ctx.values.json ? 'json' : oneOf('-o', (v.output as string | undefined) ?? (ctx.style.tty ? 'table' : 'plain'), formats);
  return {
    entry,
    parameters,
    filters,
    fields,
    sort: v.sort as string | undefined,
    durationMs: v.duration === undefined ? undefined : seconds('-d', v.duration as string),
    format,
  };
}

/** A fresh signal for the calls that clean up after a Ctrl-C (the command's own is aborted by then). */
const cleanup = () => new AbortController().signal;

/** Loads the plan's entry with its parameters and attaches all its programs; resolves with load_program's result. */
export async function startTrace(session: Session, p: Plan): Promise<Record<string, any>> {
  const loaded = (await session.call('load_program', { source: { type: 'catalog', name: p.entry.name, parameters: p.parameters } })).structuredContent as Record<string, any>;
  await session.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } });
  return loaded;
}

/** The program ids of a load_program result. */
export const programIds = (loaded: Record<string, any>): number[] => (loaded.programs as { id: number | null }[]).map((x) => x.id).filter((id) => id !== null);

/** How a ring buffer's reading ended. */
export interface RingEnd {
  mapId: number;
  /** The events' JSON Schema, as stream_events gave it. */
  schema: EventSchema | null;
  stats: Record<string, any> | undefined;
  figures: StreamFigures;
  /** Events the server had queued but nobody read. */
  droppedUnread: number;
}

/**
 * Reads the ring buffer `buffer` of the loaded object through a background stream until the duration ends or
 * `signal` aborts; each batch goes to `onEvents` as it comes, with the running figures (the last batch, read at the
 * stop, without them).
 */
export async function readRing(
  session: Session,
  p: Plan,
  objectId: string,
  buffer: string,
  signal: AbortSignal,
  onEvents: (events: StreamEvent[], schema: RingEnd['schema'], figures?: StreamFigures) => void,
): Promise<RingEnd> {
  const budget = { max_events: 1000, max_bytes: 1 << 20 };
  const start = (
    await session.call('stream_events', {
      source: { object_id: objectId, map: buffer },
      mode: 'background',
      ttl_seconds: 60,
      ...(Object.keys(p.filters).length ? { filters: p.filters } : {}),
      ...(p.fields ? { fields: p.fields } : {}),
      ...budget,
    })
  ).structuredContent as Record<string, any>;
  const schema = start.schema ?? null;
  const began = Date.now();
  const deadline = p.durationMs === undefined ? Infinity : began + p.durationMs;
  const figures = (stats: Record<string, any> | undefined): StreamFigures => ({
    received: stats?.events_received ?? 0,
    matched: stats?.events_matched ?? 0,
    lost: stats?.lost ?? null,
    elapsedMs: Date.now() - began,
  });
  let last = start;
  onEvents(start.events ?? [], schema, figures(start.stats));
  let cursor: number = start.next_cursor ?? 0;
  while (!signal.aborted && Date.now() < deadline && last.running !== false) {
    const behind = (last.stats?.queued ?? 0) > 0;
    if (!behind) await sleep(Math.min(250, deadline - Date.now()), signal);
    if (signal.aborted) break;
    last = (await session.call('stream_events', { stream_id: start.stream_id, cursor, ...budget }, { signal: cleanup() })).structuredContent as Record<string, any>;
    onEvents(last.events ?? [], schema, figures(last.stats));
    cursor = last.next_cursor ?? cursor;
  }
  const stop = (await session.call('stream_events', { stream_id: start.stream_id, cursor, stop: true, ...budget }, { signal: cleanup() })).structuredContent as Record<string, any>;
  onEvents(stop.events ?? [], schema);
  const stats = stop.stats ?? last.stats;
  return { mapId: start.map_id, schema, stats, figures: figures(stats), droppedUnread: stop.stats?.dropped_backlog ?? 0 };
}

/** The summary of a ring buffer's reading: events, time, received, lost. */
export function ringSummary(end: RingEnd): string {
  const f = end.figures;
  return `${f.matched} events in ${(f.elapsedMs / 1000).toFixed(1)} s, ${f.received} received, lost ${f.lost ?? 'unknown'}${end.droppedUnread ? `, ${end.droppedUnread} dropped unread` : ''}`;
}

/** Reads a ring buffer through a background stream until the duration ends or the command is interrupted, printing its events. */
async function streamEvents(ctx: Context, session: Session, p: Plan, objectId: string, buffer: string): Promise<void> {
  const sorted = p.sort !== undefined;
  let printer: EventPrinter | undefined;
  const end = await readRing(session, p, objectId, buffer, ctx.signal, (events, schema, figures) => {
    printer ??= new EventPrinter(sorted ? 'json' : p.format, ctx.style, schema, p.fields);
    printer.add(events, figures);
  });
  const kept = printer?.kept ?? [];
  printer?.finish();
  const ordered = sorted ? sortEvents(kept, p.sort as string) : kept;
  if (p.format === 'json') print(safeJson({ entry: p.entry.name, map_id: end.mapId, events: ordered.map(eventData), stats: end.stats }, 2));
  else if (sorted) new EventPrinter(p.format, { ...ctx.style, tty: false }, end.schema, p.fields).add(ordered);
  note(ringSummary(end));
}

/** An event's data as printed in json: the decoded record (with its CPU for perf buffers), or the decode error and raw bytes. */
export const eventData = (e: StreamEvent): unknown => (e.data !== undefined ? (e.cpu !== undefined ? { cpu: e.cpu, ...(e.data as object) } : e.data) : e);

/** Waits the duration (or until interrupted), then reads the entry's map and draws its answer. */
async function readMap(ctx: Context, session: Session, p: Plan, loaded: Record<string, any>, read: { map: string; shape: 'histogram' | 'counts' | 'stacks' }): Promise<void> {
  const began = Date.now();
  await sleep(p.durationMs ?? 2 ** 31 - 1, ctx.signal);
  const elapsedMs = Date.now() - began;
  const map = (loaded.maps as { id: number; name: string }[]).find((m) => m.name === read.map);
  if (!map) throw new Error(`the loaded object has no map ${read.map}`);
  const inspect = (maps: Record<string, unknown>) =>
    session.call('inspect_state', { fields: ['maps'], filters: { map_id: map.id }, maps: { id: map.id, ...maps }, max_bytes: 1 << 20 }, { signal: cleanup() });
  const format = p.format as MapFormat | 'json';
  if (read.shape === 'stacks') {
    const stacks = ((await inspect({ entries: false })).structuredContent?.stacks ?? {}) as Stacks;
    if (format === 'json') print(safeJson({ entry: p.entry.name, map_id: map.id, duration_ms: elapsedMs, stacks }, 2));
    else print(stackLines(ctx.style, stacks, format));
    return;
  }
  let page: MapPage | undefined;
  let cursor: string | undefined;
  for (let n = 0; n < 20; n++) {
    const got = (await inspect({ limit: 1000, ...(cursor ? { cursor } : {}) })).structuredContent?.map_entries as MapPage & { next_cursor: string | null };
    page = page ? { ...page, entries: [...page.entries, ...got.entries] } : got;
    cursor = got.next_cursor ?? undefined;
    if (!cursor) break;
  }
  if (!page) return;
  if (cursor) note(`${escapeLine(read.map)}: more than ${page.entries.length} entries; showing those`);
  if (format === 'json') print(safeJson({ entry: p.entry.name, map_id: map.id, shape: read.shape, duration_ms: elapsedMs, key_type: page.key_type, value_type: page.value_type, entries: read.shape === 'counts' ? sortEntries(page.entries, p.sort) : page.entries }, 2));
  else print(read.shape === 'histogram' ? histogramLines(ctx.style, page) : countLines(ctx.style, page, format, p.sort));
}

/** The command. */
export const traceCommand: Command = {
  name: 'trace',
  summary: 'run a catalog entry: load, attach, print its events or draw its answer',
  usage: `Usage: ebpf-mcp trace <entry> [options]

Loads the catalog entry <entry> (ebpf-mcp catalog lists them) with its parameters, attaches
all its programs, then reads it until -d ends or Ctrl-C:
  ring-buffer entries (execsnoop, opensnoop, tcpconnect, ...): events printed as they come;
    on a terminal a live table with a status line (events, rate, lost), plain lines when piped
  map entries (syscount, runqlat, biolatency, profile, offcputime, ...): waits, then draws the
    histogram, the counts, or the top functions and folded stacks
Everything the trace loaded is released when it ends, however it ends.

Options:
  -p, --pid <n>           only process n: the entry's pid parameter where it has one, else a
                          filter on the events
  -c, --comm <name>       only events whose comm is name (or matches it as a glob)
  -d, --duration <s>      stop after s seconds (default: until Ctrl-C)
      --where '<f op v>'  only events where field f op value holds (repeatable); op: == != < <= >
                          >= ~ (glob), or eq ne lt le gt ge in glob prefix contains; in takes a,b,c
      --fields <a,b>      only these fields of each event
      --sort <field>      events (or counts: key, value) in this order at the end; --sort=-field
                          descending
  -o, --output <fmt>      table | plain | ndjson | json (map entries: table | plain | json);
                          default table on a terminal, plain when piped
      --param <k=v>       an entry parameter (repeatable; v parsed as JSON when it parses)

Examples:
  ebpf-mcp trace execsnoop
  ebpf-mcp trace opensnoop -p 1234 -d 10 -o ndjson
  ebpf-mcp trace tcpconnect --where 'latency_ns > 1000000' --fields pid,comm,daddr,dport,latency_ns
  ebpf-mcp trace runqlat -d 5 --param per_process=true
  ebpf-mcp trace syscount -p 1234 -d 5
  ebpf-mcp trace profile -d 10 -o plain > folded.txt   # flamegraph.pl folded.txt
`,
  options: {
    pid: { type: 'string', short: 'p' },
    comm: { type: 'string', short: 'c' },
    duration: { type: 'string', short: 'd' },
    where: { type: 'string', multiple: true },
    fields: { type: 'string' },
    sort: { type: 'string' },
    output: { type: 'string', short: 'o' },
    param: { type: 'string', multiple: true },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const session = await ctx.session();
    const entry = await manifest(session, ctx.positionals[0] as string);
    const p = plan(ctx, entry);
    const loaded = await startTrace(session, p);
    const programs = programIds(loaded);
    const until = p.durationMs === undefined ? 'Hit Ctrl-C to end.' : `for ${p.durationMs / 1000} s (Ctrl-C to end sooner).`;
    note(`Tracing ${entry.name} (programs ${programs.join(' ')}) ${until}`);
    if ('buffer' in entry.read) await streamEvents(ctx, session, p, loaded.object_id, entry.read.buffer);
    else await readMap(ctx, session, p, loaded, entry.read);
    return 0;
  },
};
