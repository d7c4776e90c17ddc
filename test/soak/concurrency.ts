/**
 * Concurrency: clients at once, each doing random load, attach, stream, pin,
 * detach, unload and disconnect (then connecting again) until the time is
 * up. Every answer must be typed; afterwards no program any of them loaded
 * is left, and no pin exists whose call failed (pins that succeeded outlive
 * their session on purpose and are removed by the part itself).
 */
import { existsSync, rmSync } from 'node:fs';
import { ERROR_TYPES } from '../../src/errors.js';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';
import type { Report, Scale, SoakPart } from './soak.js';

const SHAPE: Record<Scale, { clients: number; seconds: number }> = { test: { clients: 3, seconds: 8 }, soak: { clients: 10, seconds: 60 } };

/** Tracepoints the clients attach to (a program attaches once per hook: a second try is a typed error, which is fine). */
const HOOKS = ['sys_enter_getpid', 'sys_enter_getppid', 'sys_enter_gettid', 'sys_enter_getuid'];

/** What all clients did, for the checks at the end. */
interface Tally {
  calls: number;
  byType: Map<string, number>;
  programs: Set<number>;
  failedPins: string[];
  madePins: string[];
}

/** One client's session: random calls until `deadline`, reconnecting after a disconnect. */
async function client(prefix: string, deadline: number, tally: Tally, me: number): Promise<void> {
  let c: Connected = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix]);
  let objects: string[] = [];
  let programs: number[] = [];
  let links: string[] = [];
  let maps: number[] = [];
  let n = 0;
  const call = async (tool: string, args: Record<string, unknown>): Promise<Record<string, any>> => {
    const s = (await c.call(tool, args)).structuredContent;
    tally.calls++;
    const type = s?.success === true ? 'success' : s?.error?.type;
    if (s?.success !== true && (s?.success !== false || !ERROR_TYPES.includes(type))) {
      throw new Error(`client ${me}: ${tool} ${JSON.stringify(args)} got an untyped answer: ${JSON.stringify(s)?.slice(0, 400)}`);
    }
    tally.byType.set(type, (tally.byType.get(type) ?? 0) + 1);
    return s;
  };
  try {
    while (Date.now() < deadline) {
      const op = Math.floor(Math.random() * 7);
      const any = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];
      if (op === 0 || programs.length === 0) {
        const s = await call('load_program', { source: { type: 'file', path: fixture(Math.random() < 0.5 ? 'counters' : 'events') } });
        if (s.success) {
          objects.push(s.object_id);
          for (const p of s.programs as { id: number | null }[]) if (p.id) (programs.push(p.id), tally.programs.add(p.id));
          maps.push(...(s.maps as { id: number }[]).map((m) => m.id));
        }
      } else if (op === 1) {
        const s = await call('attach_program', { program_id: any(programs), attachment: { tracepoint: { category: 'syscalls', name: any(HOOKS) } } });
        if (s.success) links.push(s.link_handle);
      } else if (op === 2) {
        await call('stream_events', { source: { map_id: any(maps) }, duration_ms: 50 + Math.floor(Math.random() * 150) });
      } else if (op === 3) {
        const path = `c${me}/p${n++}`;
        const s = await call('pin_object', { kind: 'map', id: any(maps), path });
        (s.success ? tally.madePins : tally.failedPins).push(`${prefix}/${path}`);
      } else if (op === 4 && links.length) {
        await call('detach_link', { link_handle: links.splice(Math.floor(Math.random() * links.length), 1)[0] });
      } else if (op === 5 && objects.length) {
        const s = await call('unload_program', { object_id: objects.splice(Math.floor(Math.random() * objects.length), 1)[0] });
        if (s.success) (programs = []), (maps = []), (links = []), (objects = []);
      } else if (op === 6) {
        await c.close();
        c = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix]);
        (objects = []), (programs = []), (maps = []), (links = []);
      }
    }
  } finally {
    await c.close();
  }
}

async function run(scale: Scale, report: Report): Promise<void> {
  const { clients, seconds } = SHAPE[scale];
  const prefix = `/sys/fs/bpf/ebpf-mcp-soak-conc-${process.pid}`;
  const tally: Tally = { calls: 0, byType: new Map(), programs: new Set(), failedPins: [], madePins: [] };
  const deadline = Date.now() + seconds * 1000;
  try {
    await Promise.all(Array.from({ length: clients }, (_, i) => client(prefix, deadline, tally, i)));
    const failedPinsLeft = tally.failedPins.filter((p) => existsSync(p));
    const left = () => [...tally.programs].filter((id) => bpftoolIds('prog').has(id));
    // Pinned maps outlive their sessions by design; programs do not (nothing here pins one).
    await eventually(() => left().length === 0, 3000);
    report('clients at once, seconds', `${clients}, ${seconds}`);
    report('calls, every one a typed result', tally.calls);
    report('answers by type', [...tally.byType.entries()].map(([k, v]) => `${k} ${v}`).join(', '));
    report('programs loaded, left after the clients went', `${tally.programs.size}, ${left().length}`);
    report('pins made, failed pins left', `${tally.madePins.length}, ${failedPinsLeft.length}`);
    if (left().length) throw new Error(`programs left behind: ${left().join(', ')}`);
    if (failedPinsLeft.length) throw new Error(`pins exist whose call failed: ${failedPinsLeft.join(', ')}`);
    const missing = tally.madePins.filter((p) => !existsSync(p));
    if (missing.length) throw new Error(`pins whose call succeeded are missing: ${missing.join(', ')}`);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

/** The concurrency part of the soak. */
export const concurrencyPart: SoakPart = { name: 'clients at once doing random load, attach, stream, pin, detach, unload, disconnect', run };
