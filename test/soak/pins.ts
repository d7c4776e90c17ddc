/**
 * Ten servers pinning at once under one test-owned prefix and one pin
 * record: each pins maps (pin_object) and links (attach_program pin_path)
 * under its own names, and all race for a few shared names. Then: every pin
 * whose call succeeded exists, names the object the call reported and is in
 * the record; every name's pin is its one winner's; no failed call left a pin
 * or an attached link; the record has no entry more or less than the pins.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identifyPin } from '../../src/kernel/pins.js';
import { PinRegistry } from '../../src/session/pin-registry.js';
import { bpftoolLinksOf, eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';
import type { SoakPart } from './soak.js';

const SERVERS = 10;
/** Pin calls each server has running at once: under the server's cap on requests in flight, so none is refused for it. */
const IN_FLIGHT = 16;
/** Distinct tracepoints, one per link of a program (the kernel attaches a program once per tracepoint). */
const TRACEPOINTS = readdirSync('/sys/kernel/tracing/events/syscalls')
  .filter((n) => n.startsWith('sys_enter_'))
  .sort();

/** One pin call and how it ended. */
interface Outcome {
  path: string;
  kind: 'map' | 'link';
  /** The kernel id the call reported, when it succeeded. */
  id?: number;
  /** The error type, when it failed. */
  error?: string;
}

/** Runs thunks with at most `width` running at once; resolves to their results in order. */
async function limited<T>(thunks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(thunks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < thunks.length; i = next++) results[i] = await (thunks[i] as () => Promise<T>)();
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results;
}

/** Runs one server's pin calls, IN_FLIGHT at a time; returns how each ended and the program it attached. */
async function pinAll(c: Connected, prefix: string, server: number, own: number, shared: number): Promise<{ outcomes: Outcome[]; programId: number }> {
  const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
  const mapId: number = loaded.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
  const calls: (() => Promise<Outcome>)[] = [];
  const pinMap = async (name: string): Promise<Outcome> => {
    const r = (await c.call('pin_object', { kind: 'map', id: mapId, path: name })).structuredContent;
    return { path: `${prefix}/${name}`, kind: 'map', ...(r.success ? { id: r.id } : { error: r.error?.type ?? 'UNTYPED' }) };
  };
  const pinLink = async (name: string, tracepoint: number): Promise<Outcome> => {
    const attachment = { tracepoint: { category: 'syscalls', name: TRACEPOINTS[tracepoint] } };
    const r = (await c.call('attach_program', { program_id: loaded.program_id, attachment, pin_path: name })).structuredContent;
    return { path: `${prefix}/${name}`, kind: 'link', ...(r.success ? { id: r.link_id } : { error: r.error?.type ?? 'UNTYPED' }) };
  };
  for (let j = 0; j < own; j++) calls.push(() => (j % 2 ? pinLink(`s${server}/l${j}`, j) : pinMap(`s${server}/m${j}`)));
  for (let j = 0; j < shared; j++) calls.push(() => (j % 2 ? pinLink(`shared/k${j}`, own + j) : pinMap(`shared/k${j}`)));
  return { outcomes: await limited(calls, IN_FLIGHT), programId: loaded.program_id };
}

export const pinsPart: SoakPart = {
  name: '10 servers pinning at once',
  async run(scale, report) {
    const own = scale === 'soak' ? 40 : 6;
    const shared = scale === 'soak' ? 20 : 4;
    const prefix = `/sys/fs/bpf/ebpf-mcp-soak-pins-${process.pid}`;
    const record = mkdtempSync(join(tmpdir(), 'ebpf-mcp-soak-record-'));
    const servers: Connected[] = [];
    const programs: number[] = [];
    try {
      for (let i = 0; i < SERVERS; i++) {
        servers.push(await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix], { env: { EBPF_MCP_PIN_RECORD: record } }));
      }
      const start = performance.now();
      const results = await Promise.all(servers.map((c, i) => pinAll(c, prefix, i, own, shared)));
      const ms = performance.now() - start;
      const outcomes = results.flatMap((r) => r.outcomes);
      programs.push(...results.map((r) => r.programId));

      const untyped = outcomes.filter((o) => o.error === 'UNTYPED');
      if (untyped.length) throw new Error(`${untyped.length} pin calls failed without a typed error`);
      const lookup = new PinRegistry(record).snapshot();
      const succeeded = outcomes.filter((o) => o.id !== undefined);
      for (const o of succeeded) {
        const pin = identifyPin(o.path);
        if (!pin || pin.kind !== o.kind || pin.id !== o.id) throw new Error(`${o.path}: the call pinned ${o.kind} ${o.id}, the pin is ${JSON.stringify(pin)}`);
        if (!lookup(o.path, o.kind, o.id as number)) throw new Error(`${o.path}: pinned but not in the record`);
      }
      const failedOwn = outcomes.filter((o) => o.error !== undefined && !o.path.includes('/shared/'));
      if (failedOwn.length) throw new Error(`${failedOwn.length} uncontended pin calls failed: ${JSON.stringify(failedOwn.slice(0, 3))}`);
      for (let j = 0; j < shared; j++) {
        const path = `${prefix}/shared/k${j}`;
        const winners = outcomes.filter((o) => o.path === path && o.id !== undefined);
        if (winners.length !== 1) throw new Error(`${path}: ${winners.length} calls succeeded, one must`);
      }
      const entries = readdirSync(record).filter((n) => n.endsWith('.json')).length;
      if (entries !== succeeded.length) throw new Error(`the record has ${entries} entries for ${succeeded.length} pins`);
      // A failed attach leaves no link: each program has exactly the links its successful calls reported.
      results.forEach((r) => {
        const made = r.outcomes.filter((o) => o.kind === 'link' && o.id !== undefined).map((o) => o.id as number).sort((a, b) => a - b);
        const attached = bpftoolLinksOf(r.programId).sort((a, b) => a - b);
        if (JSON.stringify(made) !== JSON.stringify(attached)) throw new Error(`program ${r.programId}: calls made links ${made}, the kernel has ${attached}`);
      });
      report('servers pinning at once', SERVERS);
      report('pin calls', outcomes.length);
      report('pins made', succeeded.length);
      report('contended calls refused (typed)', outcomes.length - succeeded.length);
      report('record entries lost', succeeded.length - entries);
      report('pinning wall time (ms)', Math.round(ms));
    } finally {
      for (const c of servers) await c.close();
      rmSync(prefix, { recursive: true, force: true });
      rmSync(record, { recursive: true, force: true });
    }
    if (!(await eventually(() => programs.every((p) => bpftoolLinksOf(p).length === 0), 3000))) throw new Error('links outlived the prefix cleanup');
    if (existsSync(prefix)) throw new Error(`${prefix} was not removed`);
    report('links left after cleanup', 0);
  },
};
