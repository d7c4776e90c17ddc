/**
 * Time to the first answer: the catalog's execsnoop loaded by name through
 * MCP, attached and streamed, until the first event of a command started
 * after the attach; against bpftrace on the same tracepoint
 * (sched/sched_process_exec), from its start to its first line for a command
 * started once it says it is attaching.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { type LoadFloor, type Server, exited, floorMedians, loadFloor, median, note, nowMs } from './lib.js';
import { type Section, costRow } from './report.js';

/** Sizes of the first event benchmark. */
export interface FirstEventConfig {
  /** Alternating runs of each side, after one warm-up of each. */
  runs: number;
}

/** How long either side may take before the run counts as failed. */
const TIMEOUT_MS = 30_000;

/** Runs `path` (a link to /bin/true whose name is the comm to look for) and lets it exit on its own. */
function runCommand(path: string): void {
  spawn(path, [], { stdio: 'ignore' }).once('error', (e) => note(`first event: ${path} did not start: ${e.message}`));
}

/** Ours: load_program (catalog execsnoop) → attach_program auto → the command → stream_events until its event. */
async function oursOnce(server: Server, command: string, comm: string): Promise<{ ms: number; loadMs: number; attachMs: number; pid: number }> {
  const t0 = nowMs();
  const loaded = await server.call('load_program', { source: { type: 'catalog', name: 'execsnoop' } });
  const objectId = loaded.object_id as string;
  try {
    const t1 = nowMs();
    await server.call('attach_program', { object_id: objectId, attachment: { auto: {} } });
    const t2 = nowMs();
    runCommand(command);
    const s = await server.call('stream_events', { source: { object_id: objectId, map: 'events' }, duration_ms: TIMEOUT_MS, max_events: 1, filters: { comm } });
    const ms = nowMs() - t0;
    const event = (s.events as { data: { comm: string; pid: number } }[])[0];
    if (event?.data.comm !== comm) throw new Error(`stream_events answered without the command's event: ${JSON.stringify(s.events)}`);
    return { ms, loadMs: t1 - t0, attachMs: t2 - t1, pid: event.data.pid };
  } finally {
    await server.call('unload_program', { object_id: objectId });
  }
}

/**
 * bpftrace's program: the same tracepoint, one line for the command's exec, then exit. Its BEGIN
 * line says the probe is attached (bpftrace prints "Attaching" before it attaches, BEGIN after).
 */
const bpftraceScript = (comm: string): string =>
  `BEGIN { printf("attached\\n"); } tracepoint:sched:sched_process_exec /comm == "${comm}"/ { printf("%d %s\\n", pid, comm); exit(); }`;

/** bpftrace: spawned; the command is started when its BEGIN line says it is attached; timed to its line for the command. */
function bpftraceOnce(command: string, comm: string): Promise<{ ms: number; attachedMs: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn('bpftrace', ['-B', 'line', '-e', bpftraceScript(comm)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let attachedMs = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bpftrace printed nothing for the command in ${TIMEOUT_MS} ms: ${out} ${err}`));
    }, TIMEOUT_MS);
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      if (!attachedMs && lines.includes('attached')) {
        attachedMs = nowMs() - t0;
        runCommand(command);
      }
      const hit = lines.map((l) => /^(\d+) (\S+)$/.exec(l)).find((m) => m?.[2] === comm);
      if (attachedMs && hit) {
        const ms = nowMs() - t0;
        clearTimeout(timer);
        void exited(child).then(() => resolve({ ms, attachedMs, pid: Number(hit[1]) }));
        child.kill('SIGINT');
      }
    });
    child.once('error', reject);
  });
}

/** The catalog's execsnoop object. */
const EXECSNOOP_OBJECT = join(PACKAGE_ROOT, 'bpf', '.output', 'catalog', 'exec_events.bpf.o');

/** Alternating runs of both sides; returns the first_event_ms row. */
export async function firstEvent(cfg: FirstEventConfig, server: Server): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-first-'));
  try {
    let n = 0;
    // A fresh name each run, so neither side can see an earlier run's exec: the comm is the link's name.
    const command = (): { path: string; comm: string } => {
      const comm = `first-${process.pid % 1000}-${n++}`;
      const path = join(dir, comm);
      symlinkSync('/bin/true', path);
      return { path, comm };
    };
    const warm = [command(), command()];
    await oursOnce(server, warm[0]!.path, warm[0]!.comm);
    await bpftraceOnce(warm[1]!.path, warm[1]!.comm);
    const elf = readFileSync(EXECSNOOP_OBJECT);
    loadFloor(elf, 'exec_events');
    const ours: Awaited<ReturnType<typeof oursOnce>>[] = [];
    const bt: Awaited<ReturnType<typeof bpftraceOnce>>[] = [];
    const floor: LoadFloor[] = [];
    for (let r = 0; r < cfg.runs; r++) {
      const a = command();
      ours.push(await oursOnce(server, a.path, a.comm));
      const b = command();
      bt.push(await bpftraceOnce(b.path, b.comm));
      floor.push(loadFloor(elf, 'exec_events'));
      note(`first event run ${r + 1}/${cfg.runs}: ours ${ours[r]!.ms.toFixed(0)} ms, bpftrace ${bt[r]!.ms.toFixed(0)} ms`);
    }
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    const btMs = median(bt.map((x) => x.ms));
    const oursMs = median(ours.map((x) => x.ms));
    const loadMs = median(ours.map((x) => x.loadMs));
    const attachMs = median(ours.map((x) => x.attachMs));
    const streamMs = median(ours.map((x) => x.ms - x.loadMs - x.attachMs));
    const fl = floorMedians(floor);
    return {
      title: 'Time to the first event (`first_event_ms`)',
      rows: [costRow('first_event_ms', oursMs, 'ms', '`bpftrace -e` on tracepoint:sched:sched_process_exec (process start to its first line)', btMs, '>= 10 x faster than bpftrace', 10)],
      misses: {
        first_event_ms:
          `bpftrace 0.17 answers this one-probe program in ${btMs.toFixed(0)} ms here, so 10 x faster means ${(btMs / 10).toFixed(1)} ms; ` +
          `libbpf opening and loading the same execsnoop object in process, with no MCP at all, takes ${fl.text}, same run: ` +
          'the rest of the load is libbpf reading and parsing the kernel\'s BTF for CO-RE, relocating, creating the maps and programs. ' +
          `That floor of any answer that loads it is ${(btMs / fl.totalMs).toFixed(2)} x faster than bpftrace at best. ` +
          `Ours adds ${(oursMs - fl.totalMs).toFixed(0)} ms to it: load_program answers in ${loadMs.toFixed(0)} ms (the floor, the catalog entry's checks, ` +
          `the MCP round trip), attach_program in ${attachMs.toFixed(0)} ms, and stream_events in ${streamMs.toFixed(0)} ms from its request to its answer ` +
          'with the event (the command\'s start and exec, the ring reader, decoding, the round trip).',
      },
      how:
        'Both sides wait for the exec of a command started after they are ready: a symbolic link to /bin/true with a fresh name per run ' +
        '(its comm), so no earlier exec can count. Ours, on the benchmark\'s MCP session (already initialized, as a client keeps it): ' +
        'the clock starts when load_program {source: {type: "catalog", name: "execsnoop"}} is sent; when its answer arrives, ' +
        'attach_program {object_id, attachment: {auto: {}}} is sent (sched/sched_process_exec); when that answer arrives the command is ' +
        'spawned and stream_events {source: {object_id, map: "events"}, max_events: 1, filters: {comm}} is sent; the clock stops when its ' +
        'answer (with the command\'s decoded event) arrives. The object is unloaded after each run, outside the timing. bpftrace: the clock ' +
        `starts when \`bpftrace -B line -e '${bpftraceScript('<comm>')}'\` is spawned; when its BEGIN line arrives (bpftrace runs BEGIN once its ` +
        'probes are attached; its "Attaching N probes" line comes before the attach, and a command started then can be missed), the command is spawned; ' +
        'the clock stops when its line for the command arrives. One warm-up of each side, then ' +
        `${cfg.runs} alternating runs; medians. Ratio = bpftrace / ours; the target (10 x faster) is a ratio >= 10.`,
      details: [
        `ours per run (ms): ${ms(ours.map((x) => x.ms))}; of which load_program ${ms(ours.map((x) => x.loadMs))}, attach_program ${ms(ours.map((x) => x.attachMs))}`,
        `bpftrace per run (ms): ${ms(bt.map((x) => x.ms))}; of which spawn to its BEGIN line ${ms(bt.map((x) => x.attachedMs))}`,
        `floor: BpfObject open + load of bpf/.output/catalog/exec_events.bpf.o in the benchmark process, per run (ms): ${ms(floor.map((f) => f.openMs + f.loadMs))}; ` +
          `of which open ${ms(floor.map((f) => f.openMs))}, the kernel's verifier ${floor.map((f) => f.verifyMs.toFixed(1)).join(', ')}`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
