/**
 * Kills: cycles of load, attach and a running stream_events, then the
 * server is killed outright (SIGKILL) or its stdin closed mid-stream. Every
 * program, map and link the server reported must be gone afterwards, as
 * bpftool sees it; a closed stdin must end the server within 2 s.
 */
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { fixture } from '../helpers/fixtures.js';
import { rawServer, toolCall } from '../helpers/raw.js';
import type { Report, Scale, SoakPart } from './soak.js';

const CYCLES: Record<Scale, number> = { test: 20, soak: 200 };

/** Longest a server may take to exit once its stdin is closed. */
const EOF_EXIT_MS = 2000;

/** The kernel ids one cycle made, by kind. */
interface Made {
  prog: number[];
  map: number[];
  link: number[];
}

/** One cycle: load events.bpf.o, attach its first program, start a stream, then end the server as `how` says. */
async function cycle(how: 'SIGKILL' | 'EOF', made: Made): Promise<number> {
  const s = await rawServer();
  await s.send(toolCall('load', 'load_program', { source: { type: 'file', path: fixture('events') } }));
  const loaded = (await s.answer('load')).result?.structuredContent;
  if (loaded?.success !== true) throw new Error(`load failed: ${JSON.stringify(loaded?.error)}`);
  const programs = loaded.programs as { id: number }[];
  const maps = loaded.maps as { id: number; name: string }[];
  made.prog.push(...programs.map((p) => p.id));
  made.map.push(...maps.map((m) => m.id));
  await s.send(toolCall('attach', 'attach_program', { program_id: programs[0]?.id, attachment: { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } } }));
  const attached = (await s.answer('attach')).result?.structuredContent;
  if (attached?.success !== true) throw new Error(`attach failed: ${JSON.stringify(attached?.error)}`);
  made.link.push(...(attached.link_ids as (number | null)[]).filter((id): id is number => id !== null));
  const ring = maps.find((m) => m.name === 'ring_events')?.id;
  await s.send(toolCall('stream', 'stream_events', { source: { map_id: ring }, duration_ms: 30_000 }));
  await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 80)));
  const started = Date.now();
  if (how === 'SIGKILL') s.proc.kill('SIGKILL');
  else s.proc.stdin.end();
  await s.exited;
  return Date.now() - started;
}

async function run(scale: Scale, report: Report): Promise<void> {
  const made: Made = { prog: [], map: [], link: [] };
  let slowestEof = 0;
  let kills = 0;
  let eofs = 0;
  for (let i = 0; i < CYCLES[scale]; i++) {
    const how = i % 2 === 0 ? 'SIGKILL' : 'EOF';
    const took = await cycle(how, made);
    if (how === 'SIGKILL') kills++;
    else {
      eofs++;
      slowestEof = Math.max(slowestEof, took);
      if (took > EOF_EXIT_MS) throw new Error(`cycle ${i}: the server took ${took} ms to exit after stdin closed`);
    }
  }
  report('cycles (load, attach, stream, then the end)', CYCLES[scale]);
  report('  ended by SIGKILL / by stdin closed mid-stream', `${kills} / ${eofs}`);
  report('  slowest exit after stdin closed', `${slowestEof} ms`);
  report('programs, maps, links made', `${made.prog.length}, ${made.map.length}, ${made.link.length}`);
  const left = (kind: keyof Made) => {
    const now = bpftoolIds(kind);
    return made[kind].filter((id) => now.has(id));
  };
  // The kernel frees a dead process's objects shortly after it goes (maps after an RCU grace period).
  await eventually(() => left('prog').length + left('map').length + left('link').length === 0, 5000);
  const leftovers = { prog: left('prog'), map: left('map'), link: left('link') };
  report('programs, maps, links left', `${leftovers.prog.length}, ${leftovers.map.length}, ${leftovers.link.length}`);
  if (leftovers.prog.length + leftovers.map.length + leftovers.link.length > 0) throw new Error(`left behind: ${JSON.stringify(leftovers)}`);
}

/** Kills mid-stream. */
export const killsPart: SoakPart = { name: 'kills mid-stream', run };
