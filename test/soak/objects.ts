/**
 * Hostile objects: seeded mutants of every object the project builds, each
 * loaded through the real server over MCP. Every answer must be a success
 * or a typed error; the server must live through all of them; and after each
 * connection nothing it created may remain: while connected, the BPF fds it
 * holds (read from /proc) are exactly the programs and maps it reported, and
 * after it ends none of those ids is left in the kernel (bpftool).
 * The seed is SOAK_SEED when set, else random; it is printed, and a failing
 * mutant's report names the seed and index that reproduce it.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_TYPES } from '../../src/errors.js';
import { BPF_OBJECT_DIR } from '../../src/paths.js';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { type Mutant, type Original, mutant } from './mutants.js';
import { type Report, type Scale, type SoakPart, soakSeed } from './soak.js';

/** Mutants per scale. */
const COUNT: Record<Scale, number> = { test: 1000, soak: 10_000 };
/** Calls per connection, and objects kept loaded before the connection is replaced (the session holds at most 64). */
const CALLS_PER_CONNECTION = 150;
const KEPT_PER_CONNECTION = 48;
/** Servers loading mutants at once. */
const WORKERS = 2;

/** Every compiled .bpf.o under bpf/.output, catalog and fixtures. */
function originals(): Original[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.bpf.o') ? [join(dir, e.name)] : []));
  return walk(BPF_OBJECT_DIR)
    .sort()
    .map((path) => ({ name: path.slice(BPF_OBJECT_DIR.length + 1), bytes: new Uint8Array(readFileSync(path)) }));
}

/** Kernel ids of the programs and maps a process holds fds of, from /proc/<pid>/fdinfo. */
function heldIds(pid: number): { prog: Set<number>; map: Set<number> } {
  const held = { prog: new Set<number>(), map: new Set<number>() };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const kind = target === 'anon_inode:bpf-prog' ? 'prog' : target === 'anon_inode:bpf-map' ? 'map' : undefined;
    if (!kind) continue;
    const id = new RegExp(`^${kind}_id:\\s*(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (id) held[kind].add(Number(id[1]));
  }
  return held;
}

/** Whether a process is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const difference = (a: Set<number>, b: Set<number>): number[] => [...a].filter((x) => !b.has(x));

/** The figures of one run. */
interface Tally {
  successes: number;
  typed: Map<string, number>;
  crashes: number;
  leaks: number;
}

/**
 * Loads mutants [from, to) over one connection, stopping early once it keeps KEPT_PER_CONNECTION
 * objects; returns the index it stopped at. Throws on an untyped answer, a dead server or a leak.
 */
async function batch(all: readonly Original[], seed: number, from: number, to: number, tally: Tally): Promise<number> {
  const c: Connected = await connect();
  const reported = { prog: new Set<number>(), map: new Set<number>() };
  let kept = 0;
  let i = from;
  const where = (m: Mutant, n: number) => `mutant ${n} (SOAK_SEED=${seed}) of ${m.object}: ${m.mutation}`;
  try {
    for (; i < to && kept < KEPT_PER_CONNECTION; i++) {
      const m = mutant(all, seed, i);
      let answer: Awaited<ReturnType<Connected['call']>>;
      try {
        answer = await c.call('load_program', { source: { type: 'data', blob: Buffer.from(m.bytes).toString('base64') } });
      } catch (e) {
        tally.crashes++;
        throw new Error(`${where(m, i)}: no typed answer (${e instanceof Error ? e.message : String(e)}); server ${alive(c.pid) ? 'alive' : 'dead'}\n${c.stderr().slice(-2000)}`);
      }
      if (!alive(c.pid)) {
        tally.crashes++;
        throw new Error(`${where(m, i)}: the server died after answering`);
      }
      const sc = answer.structuredContent;
      if (sc?.success === true) {
        tally.successes++;
        kept++;
        for (const p of sc.programs as { id: number | null }[]) if (p.id !== null) reported.prog.add(p.id);
        for (const mp of sc.maps as { id: number | null }[]) if (mp.id !== null) reported.map.add(mp.id);
      } else if (answer.isError && ERROR_TYPES.includes(sc?.error?.type)) {
        tally.typed.set(sc.error.type, (tally.typed.get(sc.error.type) ?? 0) + 1);
      } else {
        throw new Error(`${where(m, i)}: an answer that is neither a success nor a typed error: ${JSON.stringify(answer).slice(0, 500)}`);
      }
    }
    const held = heldIds(c.pid);
    const extra = [...difference(held.prog, reported.prog).map((id) => `prog ${id}`), ...difference(held.map, reported.map).map((id) => `map ${id}`)];
    const missing = [...difference(reported.prog, held.prog).map((id) => `prog ${id}`), ...difference(reported.map, held.map).map((id) => `map ${id}`)];
    if (extra.length || missing.length) {
      tally.leaks += extra.length;
      throw new Error(`mutants ${from}..${i - 1} (SOAK_SEED=${seed}): the server holds unreported [${extra.join(', ')}] and lacks reported [${missing.join(', ')}]`);
    }
  } finally {
    await c.close();
  }
  const gone = await eventually(() => !alive(c.pid), 5000);
  const left = (): string[] => {
    const progs = bpftoolIds('prog');
    const maps = bpftoolIds('map');
    return [...[...reported.prog].filter((id) => progs.has(id)).map((id) => `prog ${id}`), ...[...reported.map].filter((id) => maps.has(id)).map((id) => `map ${id}`)];
  };
  if (!gone || !(await eventually(() => left().length === 0, 3000))) {
    tally.leaks += left().length;
    throw new Error(`mutants ${from}..${i - 1} (SOAK_SEED=${seed}): ${gone ? `ids still in the kernel after disconnect: ${left().join(', ')}` : 'the server did not exit after disconnect'}`);
  }
  return i;
}

/** The hostile-objects part of the soak. */
export const objectsPart: SoakPart = {
  name: 'hostile objects',
  async run(scale: Scale, report: Report) {
    const all = originals();
    const seed = soakSeed();
    report('seed (SOAK_SEED)', seed);
    report('objects mutated', all.length);
    const started = Date.now();
    const tally: Tally = { successes: 0, typed: new Map(), crashes: 0, leaks: 0 };
    const total = COUNT[scale];
    // Ranges of mutant indices still to load; a batch that stops early gives back the rest of its range.
    const ranges: [number, number][] = [];
    for (let i = 0; i < total; i += CALLS_PER_CONNECTION) ranges.push([i, Math.min(total, i + CALLS_PER_CONNECTION)]);
    const worker = async (): Promise<void> => {
      for (let r = ranges.shift(); r; r = ranges.shift()) {
        const stopped = await batch(all, seed, r[0], r[1], tally);
        if (stopped < r[1]) ranges.unshift([stopped, r[1]]);
      }
    };
    try {
      await Promise.all(Array.from({ length: WORKERS }, worker));
    } finally {
      report('mutants', tally.successes + [...tally.typed.values()].reduce((a, b) => a + b, 0));
      report('successes', tally.successes);
      for (const [type, n] of [...tally.typed].sort()) report(`typed errors ${type}`, n);
      report('crashes', tally.crashes);
      report('leaks', tally.leaks);
      report('seconds', ((Date.now() - started) / 1000).toFixed(1));
    }
  },
};
