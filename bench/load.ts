/**
 * Load: `load_program` of the largest object the project builds (the most
 * programs, then the most bytes) against `bpftool prog loadall` of the same file.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BpfObject } from '../src/kernel/object.js';
import { BPF_OBJECT_DIR } from '../src/paths.js';
import { type LoadFloor, type Server, floorMedians, loadFloor, median, note, nowMs, timedRun } from './lib.js';
import { type Section, costRow } from './report.js';

/** Sizes of the load benchmark. */
export interface LoadConfig {
  /** Timed loads of each side, after one warm-up. */
  runs: number;
}

/** The project's object with the most programs (then the most bytes) among bpf/.output/{catalog,fixtures}. */
function largestObject(): { path: string; programs: number; maps: number; bytes: number } {
  const found: { path: string; programs: number; maps: number; bytes: number }[] = [];
  for (const dir of ['catalog', 'fixtures']) {
    for (const name of readdirSync(join(BPF_OBJECT_DIR, dir)).filter((n) => n.endsWith('.bpf.o'))) {
      const path = join(BPF_OBJECT_DIR, dir, name);
      const obj = BpfObject.open(readFileSync(path), name);
      try {
        found.push({ path, programs: obj.programs().length, maps: obj.maps().length, bytes: statSync(path).size });
      } finally {
        obj.close();
      }
    }
  }
  found.sort((a, b) => b.programs - a.programs || b.bytes - a.bytes);
  const best = found[0];
  if (!best) throw new Error(`no BPF objects under ${BPF_OBJECT_DIR}`);
  return best;
}

/** Times both sides; returns the load_object row. The server must offer unload_program. */
export async function loadObject(cfg: LoadConfig, server: Server): Promise<Section> {
  const obj = largestObject();
  const pinDir = `/sys/fs/bpf/ebpf-mcp-bench-${process.pid}`;
  const ours = async () => {
    const t = nowMs();
    const s = await server.call('load_program', { source: { type: 'file', path: obj.path } });
    const ms = nowMs() - t;
    const loaded = (s.programs as { loaded: boolean }[]).filter((p) => p.loaded).length;
    if (loaded !== obj.programs) throw new Error(`load_program loaded ${loaded} of ${obj.programs} programs`);
    await server.call('unload_program', { object_id: s.object_id });
    return ms;
  };
  const bpftool = async () => {
    mkdirSync(pinDir);
    try {
      const { ms } = await timedRun('bpftool', ['prog', 'loadall', obj.path, pinDir]);
      const pinned = readdirSync(pinDir).length;
      if (pinned !== obj.programs) throw new Error(`bpftool prog loadall pinned ${pinned} of ${obj.programs} programs`);
      return ms;
    } finally {
      rmSync(pinDir, { recursive: true, force: true });
    }
  };
  const elf = readFileSync(obj.path);
  await ours();
  await bpftool();
  loadFloor(elf, 'floor');
  const a: number[] = [];
  const b: number[] = [];
  const floor: LoadFloor[] = [];
  for (let r = 0; r < cfg.runs; r++) {
    a.push(await ours());
    b.push(await bpftool());
    floor.push(loadFloor(elf, 'floor'));
  }
  const fl = floorMedians(floor);
  note(`load: load_program ${median(a).toFixed(1)} ms, bpftool prog loadall ${median(b).toFixed(1)} ms`);
  const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
  const rel = obj.path.slice(obj.path.indexOf('bpf/.output/'));
  return {
    title: 'Load (`load_object`)',
    rows: [costRow('load_object', median(a), 'ms', `\`bpftool prog loadall\` of ${rel} (process)`, median(b), 'within 1.2 x bpftool', 1 / 1.2)],
    misses: {
      load_object:
        `load_program answers in ${median(a).toFixed(1)} ms against bpftool's ${median(b).toFixed(1)} ms; libbpf opening and loading the same object ` +
        `in this process, with no MCP, probe or checks, takes ${fl.text}, same run. Ours adds ${(median(a) - fl.totalMs).toFixed(1)} ms to that floor: ` +
        'the untrusted file\'s open in a throwaway process forked by the long-lived probe, the checks, the report and the MCP round trip.',
    },
    how:
      `The object: ${rel} (${obj.programs} programs, ${obj.maps} maps, ${obj.bytes} bytes), the project's object with the most ` +
      'programs. Ours: a load_program call with the file path through the SDK client on the real server (open, ' +
      'checks, load of every program, the report), timed from request to answer; the object is unloaded with ' +
      'unload_program after each run, outside the timing. Anchor: `bpftool prog loadall <obj> <bpffs dir>` as a process, ' +
      'spawn to exit (it pins every program; the pins are removed after each run, outside the timing). One warm-up of ' +
      `each, then ${cfg.runs} alternating runs; medians.`,
    details: [
      `load_program per run (ms): ${ms(a)}`,
      `bpftool prog loadall per run (ms): ${ms(b)}`,
      `floor: BpfObject open + load of ${rel} in the benchmark process, per run (ms): ${ms(floor.map((f) => f.openMs + f.loadMs))}; of which the kernel's verifier ${ms(floor.map((f) => f.verifyMs))}`,
    ],
  };
}
