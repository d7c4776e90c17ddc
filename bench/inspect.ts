/**
 * Inspect: `inspect_state` (programs and maps) through the MCP client with a
 * thousand programs loaded, against `bpftool prog show -j` and
 * `bpftool map show -j` run as processes.
 */
import { readFileSync } from 'node:fs';
import { BpfObject } from '../src/kernel/object.js';
import { type Server, benchObject, median, note, nowMs, timedRun } from './lib.js';
import { type Section, costRow } from './report.js';

/** Sizes of the inspect benchmark. */
export interface InspectConfig {
  /** Programs loaded (each with its own small array map). */
  programs: number;
  /** Timed runs of each side, after one warm-up. */
  runs: number;
}

/** Both bpftool listings, one after the other; their total time and how many programs and maps they listed. */
async function bpftoolListing(): Promise<{ ms: number; programs: number; maps: number; bytes: number }> {
  const p = await timedRun('bpftool', ['-j', 'prog', 'show']);
  const m = await timedRun('bpftool', ['-j', 'map', 'show']);
  return { ms: p.ms + m.ms, programs: (JSON.parse(p.stdout) as unknown[]).length, maps: (JSON.parse(m.stdout) as unknown[]).length, bytes: p.stdout.length + m.stdout.length };
}

/** Loads the programs, times both sides, unloads; returns the inspect_1000_programs row. */
export async function inspectPrograms(cfg: InspectConfig, server: Server): Promise<Section> {
  const elf = readFileSync(benchObject('nop'));
  const objects: BpfObject[] = [];
  try {
    const t0 = nowMs();
    for (let i = 0; i < cfg.programs; i++) {
      const obj = BpfObject.open(elf, `nop${i}`);
      objects.push(obj);
      obj.load();
    }
    const loadSeconds = (nowMs() - t0) / 1000;
    note(`inspect: ${cfg.programs} programs loaded in ${loadSeconds.toFixed(1)} s`);

    const args = { fields: ['programs', 'maps'], limit: 1000, max_bytes: 1 << 20 };
    const inspect = async () => {
      const t = nowMs();
      const s = await server.call('inspect_state', args);
      return { ms: nowMs() - t, programs: s.counts.programs.total as number, maps: s.counts.maps.total as number, bytes: JSON.stringify(s).length };
    };
    await inspect();
    await bpftoolListing();
    const ours: number[] = [];
    const anchor: number[] = [];
    let last: { ours: Awaited<ReturnType<typeof inspect>>; bpftool: Awaited<ReturnType<typeof bpftoolListing>> } | undefined;
    for (let r = 0; r < cfg.runs; r++) {
      const o = await inspect();
      const b = await bpftoolListing();
      if (o.programs < cfg.programs || b.programs < cfg.programs) throw new Error(`inspect_state saw ${o.programs} programs, bpftool ${b.programs}; ${cfg.programs} are loaded`);
      ours.push(o.ms);
      anchor.push(b.ms);
      last = { ours: o, bpftool: b };
    }
    note(`inspect: inspect_state ${median(ours).toFixed(1)} ms, bpftool ${median(anchor).toFixed(1)} ms`);
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
    return {
      title: 'Inspect (`inspect_1000_programs`)',
      rows: [costRow('inspect_1000_programs', median(ours), 'ms', '`bpftool -j prog show` + `bpftool -j map show` (processes)', median(anchor), 'no slower than bpftool', 1)],
      how:
        `The benchmark process loads bench/bpf/nop.bpf.c ${cfg.programs} times (a socket filter and a one-entry array map ` +
        'each) through the project\'s BpfObject, so the kernel holds at least that many programs and maps. Ours: an ' +
        'inspect_state call with fields ["programs", "maps"] and limit 1000 (the maximum) through the SDK client on the ' +
        'real server, timed from the request to the parsed answer. Anchor: `bpftool -j prog show` then `bpftool -j map ' +
        'show`, each a process timed from spawn to exit, summed. One warm-up of each side, then ' +
        `${cfg.runs} alternating runs; medians.`,
      details: [
        `loading ${cfg.programs} programs took ${loadSeconds.toFixed(1)} s`,
        `inspect_state per run (ms): ${ms(ours)}; bpftool per run (ms): ${ms(anchor)}`,
        last
          ? `last run: inspect_state counted ${last.ours.programs} programs and ${last.ours.maps} maps (returns at most 1000 of each; ${last.ours.bytes} bytes of structured content); ` +
            `bpftool listed ${last.bpftool.programs} programs and ${last.bpftool.maps} maps (${last.bpftool.bytes} bytes of JSON)`
          : '',
      ].filter(Boolean),
    };
  } finally {
    for (const o of objects) o.close();
  }
}
