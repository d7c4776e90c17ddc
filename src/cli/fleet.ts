/**
 * Fleet mode (--fleet): one command fanned out to a server on every node,
 * in parallel, each connection and request bounded by --node-timeout, the
 * answers merged with the node on every row. The nodes come from --nodes,
 * --nodes-file or a headless Service's endpoints (--k8s-service). A node
 * that fails is listed with its error and the others go on; the exit code is
 * 0 when at least one node answered, 5 when none did. Only what reads runs:
 * info, ps, a catalog trace (each node's objects are released when it ends),
 * and call of a tool the servers mark read-only.
 */
import { readFileSync } from 'node:fs';
import { type GlobalFlags, seconds } from './args.js';
import type { Command, Context } from './command.js';
import { callArguments } from './commands/call.js';
import { infoRows } from './commands/info.js';
import { type PsLists, psLines, psLists, psQuery } from './commands/ps.js';
import { type Plan, type RingEnd, eventData, plan, programIds, readRing, ringSummary, sleep, startTrace } from './commands/trace.js';
import { Session } from './connection.js';
import { CliError, EXIT, ToolError, UsageError } from './errors.js';
import { type EventSchema, EventPrinter, type StreamEvent, sortEvents } from './event-print.js';
import { manifest } from './manifest.js';
import { type Style, escapeLine, escapeText, note, paint, print, safeJson, table } from './output.js';

/** One node of a fleet: its MCP endpoint, and its name when the list gives one (else the server's own). */
export interface FleetNode {
  name?: string;
  url: string;
}

/** How one node's part ended, as the JSON output lists it. */
export interface NodeStatus {
  node: string;
  url: string;
  ok: boolean;
  error?: string;
}

/** The commands fleet mode runs. */
export const FLEET_COMMANDS = ['info', 'ps', 'trace', 'call'] as const;

/** Default of --node-timeout, in seconds. */
const DEFAULT_NODE_TIMEOUT_S = 10;

/** Nodes from `text`: entries split by commas or lines, each `URL` or `NAME=URL`; blank entries and # comments skipped. */
export function parseNodes(text: string, flag: string): FleetNode[] {
  const nodes: FleetNode[] = [];
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.replace(/#.*/, '').trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const name = eq > 0 && !entry.slice(0, eq).includes('/') ? entry.slice(0, eq) : undefined;
    const url = name === undefined ? entry : entry.slice(eq + 1);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`${flag}: ${JSON.stringify(url)} is not a URL (http(s)://host:port/mcp, or name=URL)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`${flag}: ${JSON.stringify(url)} is not http:// or https://`);
    nodes.push(name === undefined ? { url } : { name, url });
  }
  if (nodes.length === 0) throw new UsageError(`${flag}: no node URLs in it`);
  return nodes;
}

/** The fleet's nodes, from whichever of --nodes, --nodes-file and --k8s-service was given (exactly one). */
async function fleetNodes(flags: GlobalFlags, signal: AbortSignal): Promise<FleetNode[]> {
  const given = (['nodes', 'nodes-file', 'k8s-service'] as const).filter((f) => flags[f] !== undefined);
  if (given.length !== 1) throw new UsageError(`--fleet takes one of --nodes, --nodes-file, --k8s-service${given.length ? `, not ${given.map((f) => `--${f}`).join(' and ')}` : ''}`);
  if (flags.nodes !== undefined) return parseNodes(flags.nodes, '--nodes');
  const file = flags['nodes-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--nodes-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return parseNodes(text, `--nodes-file ${file}`);
  }
  const { serviceNodes } = await import('./fleet-k8s.js');
  return serviceNodes(flags['k8s-service'] as string, signal);
}

/** One node while the command runs: its session once connected, the name its rows carry, its failure if any. */
interface Member {
  node: FleetNode;
  name: string;
  session?: Session;
  /** The info tool's answer (asked on connecting: it names the node). */
  info?: Record<string, any>;
  error?: string;
}

/** A connected member. */
type Live = Member & { session: Session };

/** An error as one line for a node's status. */
function failure(e: unknown): string {
  if (e instanceof ToolError) return `${e.type}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Runs `fn` on every connected member at once; a member's failure is kept on it, except a usage error, thrown once all have settled. */
async function eachLive(members: Member[], signal: AbortSignal, fn: (m: Live) => Promise<void>): Promise<void> {
  let usage: UsageError | undefined;
  await Promise.all(
    members
      .filter((m): m is Live => m.session !== undefined && m.error === undefined)
      .map(async (m) => {
        try {
          await fn(m);
        } catch (e) {
          if (e instanceof UsageError) usage ??= e;
          else if (!signal.aborted || !(e instanceof CliError)) m.error = failure(e);
        }
      }),
  );
  if (usage) throw usage;
}

/** Connects to every node at once and asks each for info (which names a node the list did not). */
async function connectAll(nodes: FleetNode[], flags: GlobalFlags, signal: AbortSignal, timeoutMs: number): Promise<Member[]> {
  const members: Member[] = nodes.map((node) => ({ node, name: node.name ?? node.url }));
  await Promise.all(
    members.map(async (m) => {
      try {
        m.session = await Session.open({ url: m.node.url, ...(flags['token-file'] !== undefined ? { tokenFile: flags['token-file'] } : {}), signal, timeoutMs });
        m.info = (await m.session.call('info')).structuredContent ?? {};
        if (m.node.name === undefined && typeof m.info.server?.node === 'string') m.name = m.info.server.node;
      } catch (e) {
        if (e instanceof UsageError) throw e;
        m.error = failure(e);
      }
    }),
  );
  return members;
}

/** Each member's status, in the list's order. */
const statuses = (members: Member[]): NodeStatus[] =>
  members.map((m) => ({ node: m.name, url: m.node.url, ok: m.error === undefined, ...(m.error !== undefined ? { error: m.error } : {}) }));

/** What one fleet command does with the connected members; returns the rows of its JSON output. */
type FleetRun = (ctx: FleetContext, members: Member[]) => Promise<unknown[]>;

/** What a fleet command runs with. */
interface FleetContext {
  values: Record<string, unknown>;
  positionals: string[];
  style: Style;
  signal: AbortSignal;
  json: boolean;
}

/** info on every node: a row each (NODE, kernel, server, BTF, missing capabilities, role), or the whole answers as rows. */
const fleetInfo: FleetRun = async (ctx, members) => {
  const live = members.filter((m) => m.error === undefined && m.info);
  const rows = live.map((m) => ({ node: m.name, url: m.node.url, ...m.info }));
  if (!ctx.json) {
    const keys = ['node', 'kernel', 'server', 'btf', 'missing', 'attach kinds', 'role'];
    const cells = live.map((m) => {
      const r = new Map(infoRows(m.info ?? {}));
      return [m.name, ...keys.slice(1).map((k) => r.get(k))];
    });
    print(table(ctx.style, keys.map((k) => ({ header: k.toUpperCase(), max: 64 })), cells));
  }
  return rows;
};

/** ps on every node: programs, maps and links, each row with its node (and its kind in the JSON rows). */
const fleetPs: FleetRun = async (ctx, members) => {
  const q = psQuery(ctx.values);
  const merged: PsLists = { programs: [], maps: [], links: [] };
  const truncated: string[] = [];
  await eachLive(members, ctx.signal, async (m) => {
    const { result, ...lists } = await psLists(m.session, q);
    for (const k of ['programs', 'maps', 'links'] as const) merged[k].push(...lists[k].map((x) => ({ node: m.name, ...x })));
    if (result.truncated) truncated.push(m.name);
  });
  const order = (a: Record<string, any>, b: Record<string, any>) => String(a.node).localeCompare(String(b.node)) || (a.id ?? 0) - (b.id ?? 0);
  for (const k of ['programs', 'maps', 'links'] as const) merged[k].sort(order);
  if (!ctx.json && q.output !== 'json') print(psLines(ctx.style, q.output === 'wide', merged, true));
  for (const n of truncated) note(`ps: ${escapeLine(n)}: lists cut at ${q.limit}; narrow with --type or --name`);
  const kind = { programs: 'program', maps: 'map', links: 'link' } as const;
  return (['programs', 'maps', 'links'] as const).flatMap((k) => merged[k].map(({ node, ...x }) => ({ node, kind: kind[k], ...x })));
};

/** call of a read-only tool on every node: each node's text under its name, or its structuredContent as a row. */
const fleetCall: FleetRun = async (ctx, members) => {
  const [tool, json] = ctx.positionals as [string, string | undefined];
  const args = callArguments(json, ctx.values.arg as string[] | undefined);
  const found: boolean[] = [];
  await eachLive(members, ctx.signal, async (m) => {
    const t = (await m.session.tools()).find((x) => x.name === tool);
    found.push(t !== undefined);
    if (t && t.annotations?.readOnlyHint !== true) throw new UsageError(`--fleet calls read-only tools only, and ${tool} changes the host (not readOnlyHint); call it on one node with --url`);
  });
  if (found.length && !found.includes(true)) throw new UsageError(`no tool ${JSON.stringify(tool)} on any node`);
  const rows: { node: string; result: Record<string, any> | null }[] = [];
  const texts = new Map<string, string[]>();
  await eachLive(members, ctx.signal, async (m) => {
    const r = await m.session.call(tool, args);
    rows.push({ node: m.name, result: r.structuredContent ?? null });
    texts.set(m.name, r.content.map((c) => (c.type === 'text' ? escapeText(c.text) : `[${c.type} content]`)));
  });
  rows.sort((a, b) => a.node.localeCompare(b.node));
  if (!ctx.json) print(rows.flatMap((r, i) => [...(i ? [''] : []), paint(ctx.style, 'bold', `== ${escapeLine(r.node)}`), ...(texts.get(r.node) ?? [])]));
  return rows.map((r) => ({ node: r.node, ...r.result }));
};

/** The schema of merged events: the node first, then the entry's fields. */
const withNode = (schema: EventSchema | null): EventSchema => ({ properties: { node: { type: 'string', maxLength: 24 }, ...(schema?.properties ?? {}) } });

/** trace of a ring-buffer entry on every node: loaded and attached on each, then every node's events as they come, each with its node. */
const fleetTrace: FleetRun = async (ctx, members) => {
  const name = ctx.positionals[0] as string;
  const plans = new Map<Member, { p: Plan; loaded: Record<string, any> }>();
  await eachLive(members, ctx.signal, async (m) => {
    const entry = await manifest(m.session, name);
    if (!('buffer' in entry.read)) throw new UsageError(`--fleet traces ring-buffer entries (events); ${entry.name} answers with a map: trace it on one node with --url`);
    const p = plan({ values: ctx.values, style: ctx.style }, entry);
    plans.set(m, { p, loaded: await startTrace(m.session, p) });
  });
  const first = [...plans.values()][0];
  if (!first) return [];
  const p = first.p;
  const keep = p.format === 'json' || p.sort !== undefined;
  const fields = p.fields ? ['node', ...p.fields] : undefined;
  let printer: EventPrinter | undefined;
  const tracing = members.filter((m) => plans.has(m) && m.error === undefined);
  const until = p.durationMs === undefined ? 'Hit Ctrl-C to end.' : `for ${p.durationMs / 1000} s (Ctrl-C to end sooner).`;
  note(`Tracing ${name} on ${tracing.length} of ${members.length} nodes (${tracing.map((m) => `${m.name}: programs ${programIds(plans.get(m)?.loaded ?? { programs: [] }).join(' ')}`).join('; ')}) ${until}`);
  const ends = new Map<Member, RingEnd>();
  await eachLive(tracing, ctx.signal, async (m) => {
    const { loaded } = plans.get(m) as { loaded: Record<string, any> };
    const tag = (e: StreamEvent): StreamEvent => (e.data !== undefined && typeof e.data === 'object' && e.data !== null ? { ...e, data: { node: m.name, ...e.data } } : { ...e, data: { node: m.name, decode_error: e.decode_error, raw: e.raw } });
    const end = await readRing(m.session, p, loaded.object_id, (p.entry.read as { buffer: string }).buffer, ctx.signal, (events, schema) => {
      printer ??= new EventPrinter(keep ? 'json' : p.format, { ...ctx.style, tty: false }, withNode(schema), fields);
      printer.add(events.map(tag));
    });
    ends.set(m, end);
  });
  const kept = printer?.kept ?? [];
  const ordered = p.sort !== undefined ? sortEvents(kept, p.sort) : kept;
  if (p.format !== 'json' && p.sort !== undefined) new EventPrinter(p.format, { ...ctx.style, tty: false }, withNode(ends.values().next().value?.schema ?? null), fields).add(ordered);
  for (const m of tracing) {
    const end = ends.get(m);
    if (end) note(`${escapeLine(m.name)}: ${ringSummary(end)}`);
  }
  return p.format === 'json' ? ordered.map(eventData) : [];
};

/** Each fleet command's run. */
const RUNS: Record<(typeof FLEET_COMMANDS)[number], FleetRun> = { info: fleetInfo, ps: fleetPs, call: fleetCall, trace: fleetTrace };

/** Closes a session, waiting at most `ms` (a node that stopped answering must not hold the command). */
const closeWithin = (session: Session | undefined, ms: number) => (session ? Promise.race([session.close(), sleep(ms, new AbortController().signal)]) : undefined);

/** Runs `command` on every node of the fleet the flags name; resolves with the exit code (0: some node answered, 5: none did). */
export async function runFleet(command: Command, ctx: Omit<Context, 'session'>): Promise<number> {
  const flags = ctx.values as GlobalFlags;
  if (!(FLEET_COMMANDS as readonly string[]).includes(command.name)) throw new UsageError(`--fleet runs ${FLEET_COMMANDS.join(', ')}, not ${command.name}`);
  if (flags.url !== undefined || flags['server-arg'] !== undefined) throw new UsageError('--fleet takes its servers from --nodes, --nodes-file or --k8s-service, not --url or --server-arg');
  const timeoutMs = flags['node-timeout'] === undefined ? DEFAULT_NODE_TIMEOUT_S * 1000 : seconds('--node-timeout', flags['node-timeout']);
  const json = ctx.values.json === true || ctx.values.output === 'json';
  const nodes = await fleetNodes(flags, ctx.signal);
  const members = await connectAll(nodes, flags, ctx.signal, timeoutMs);
  try {
    const anyLive = members.some((m) => m.error === undefined);
    const rows = anyLive ? await RUNS[command.name as (typeof FLEET_COMMANDS)[number]]({ ...ctx, json }, members) : [];
    const status = statuses(members);
    if (json) print(safeJson({ nodes: status, rows }, 2));
    const failed = status.filter((s) => !s.ok);
    for (const s of failed) note(`ebpf-mcp: node ${s.node} (${s.url}): ${s.error}`);
    if (failed.length) note(`${status.length - failed.length} of ${status.length} nodes answered`);
    return failed.length === status.length ? EXIT.noNode : EXIT.ok;
  } finally {
    await Promise.all(members.map((m) => closeWithin(m.session, timeoutMs)));
  }
}
