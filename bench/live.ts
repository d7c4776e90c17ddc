/**
 * Live events: the workload makes exactly `events` getpid calls in a tight
 * loop; a BPF program on syscalls/sys_enter_getpid (bench/bpf/live.bpf.c)
 * writes one 48-byte record per call of that process into a ring buffer,
 * read by the C consumer (bench/c/live_consume.c) or by the server's
 * stream_events. bpftrace, the third consumer, runs its own program printing
 * the same fields as JSON. Delivered per second and lost for each.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { attachProgram } from '../src/hooks/index.js';
import type { BpfLink } from '../src/kernel/link.js';
import { native } from '../src/kernel/native.js';
import { BpfObject } from '../src/kernel/object.js';
import { type PausedWorkload, type Server, benchBinary, benchObject, exited, median, note, nowMs, pausedWorkload, sleep, u32Context } from './lib.js';
import { type Section, costRow, rateRow } from './report.js';

/** Sizes of the live benchmark. */
export interface LiveConfig {
  /** getpid calls per run. */
  events: number;
  /** Rounds of (C, server, bpftrace). */
  rounds: number;
}

/** One consumer's run. */
interface Run {
  delivered: number;
  /** Delivered per second, first to last record as the consumer saw them. */
  rate: number;
  lost: number;
  /** Records the ring refused, as the program counted them (null for bpftrace). */
  kernelDropped: number | null;
  /** Seconds the workload ran. */
  workloadSeconds: number;
  /** Records per wakeup of the consumer, where it reports wakeups (C). */
  perWakeup?: number;
  /** CPU seconds (utime + stime) the consumer process used while it read. */
  cpuSeconds?: number;
}

/** The live program loaded, aimed at one process and attached. */
interface Producer {
  mapId: number;
  /** Records emitted and refused so far, read through bpftool. */
  stats(): { emitted: number; dropped: number };
  close(): void;
}

/** Loads the live program, points it at `tgid` and attaches it to sys_enter_getpid. */
export function startProducer(tgid: number): Producer {
  const obj = BpfObject.open(readFileSync(benchObject('live')), 'live');
  let links: BpfLink[] = [];
  try {
    obj.load();
    const progs = obj.programs();
    const setTarget = progs.find((p) => p.name === 'set_target');
    const onGetpid = progs.find((p) => p.name === 'on_getpid');
    const maps = obj.maps();
    const ring = maps.find((m) => m.name === 'live_ring');
    const stats = maps.find((m) => m.name === 'live_stats');
    if (!setTarget || !onGetpid || !ring || !stats) throw new Error('the live object lacks its programs or maps');
    const r = native.progTestRun(setTarget.fd, 0, u32Context(tgid));
    if (r.retval !== 0) throw new Error(`set_target failed: ${r.retval}`);
    links = attachProgram({ object: obj, program: onGetpid }, { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } }).links;
    const statsId = native.mapInfo(stats.fd).id;
    return {
      mapId: native.mapInfo(ring.fd).id,
      stats() {
        const entries = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(statsId)], { encoding: 'utf8' })) as { formatted: { key: number; value: number } }[];
        const at = (k: number) => entries.find((e) => e.formatted.key === k)?.formatted.value ?? 0;
        return { emitted: at(0), dropped: at(1) };
      },
      close() {
        for (const l of links) l.destroy();
        obj.close();
      },
    };
  } catch (e) {
    for (const l of links) l.destroy();
    obj.close();
    throw e;
  }
}

/** Runs the workload (`events` getpid calls, paced at `rate` a second when given) against a producer and one consumer; `consume` resolves with delivered count and window seconds. */
async function withProducer(
  events: number,
  consume: (producer: Producer, w: PausedWorkload) => Promise<{ delivered: number; seconds: number; workloadSeconds: number; perWakeup?: number; cpuSeconds?: number }>,
  rate?: number,
): Promise<Run> {
  const w = await pausedWorkload(rate === undefined ? ['getpid', String(events)] : ['getpid-paced', String(events), String(rate)]);
  let producer: Producer | undefined;
  try {
    producer = startProducer(w.pid);
    const { delivered, seconds, workloadSeconds, perWakeup, cpuSeconds } = await consume(producer, w);
    const s = producer.stats();
    if (s.emitted + s.dropped !== events) note(`live: the program saw ${s.emitted + s.dropped} getpid calls, the workload made ${events}`);
    return {
      delivered,
      rate: delivered / seconds,
      lost: events - delivered,
      kernelDropped: s.dropped,
      workloadSeconds,
      ...(perWakeup === undefined ? {} : { perWakeup }),
      ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
    };
  } finally {
    w.kill();
    producer?.close();
  }
}

/** Lets the workload run; resolves when it has exited, with the seconds it ran. */
async function release(w: PausedWorkload): Promise<number> {
  const t0 = w.go();
  await w.done;
  return (nowMs() - t0) / 1000;
}

/** Lines of a child's stdout as they come, until one matches. */
function waitForLine(stream: NodeJS.ReadableStream, match: (line: string) => boolean, what: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`${what} did not get ready in ${ms} ms: ${text.slice(0, 500)}`));
    }, ms);
    const onData = (d: Buffer) => {
      text += d.toString();
      if (text.split('\n').some(match)) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
  });
}

/** The C consumer: a libbpf ring_buffer__poll loop in its own process; `rate` paces the workload. */
async function cRun(events: number, rate?: number): Promise<Run> {
  return withProducer(
    events,
    async (producer, w) => {
      const child = spawn(benchBinary('live_consume'), [String(producer.mapId), String(events), '1000', '120000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const done = exited(child);
      await waitForLine(child.stdout, (l) => l === 'ready', 'live_consume', 10_000);
      const workloadSeconds = await release(w);
      if ((await done) !== 0) throw new Error(`live_consume failed: ${out}`);
      const r = JSON.parse(out.trim().split('\n').pop() as string) as { records: number; first_ns: number; last_ns: number; wakeups: number; cpu_ticks: number; ticks_per_s: number };
      return {
        delivered: r.records,
        seconds: Math.max(r.last_ns - r.first_ns, 1) / 1e9,
        workloadSeconds,
        perWakeup: r.records / Math.max(r.wakeups, 1),
        cpuSeconds: r.cpu_ticks / r.ticks_per_s,
      };
    },
    rate,
  );
}

/** Clock ticks a second of /proc/PID/stat's times. */
const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (utime + stime, fields 14 and 15 of /proc/PID/stat) a process has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** The server: stream_events in aggregate mode through the MCP client, for `durationMs`; its CPU over the call. */
async function serverRun(server: Server, events: number, durationMs: number, rate?: number): Promise<Run> {
  return withProducer(
    events,
    async (producer, w) => {
      const cpu0 = cpuSeconds(server.pid);
      const pending = server.call('stream_events', {
        source: { map_id: producer.mapId },
        duration_ms: durationMs,
        aggregate: { group_by: ['tgid'] },
      });
      // Awaited below, after the workload starts: a refusal meanwhile must not go unhandled.
      pending.catch(() => {});
      await sleep(300);
      const workloadSeconds = await release(w);
      const s = await pending;
      const cpu = cpuSeconds(server.pid) - cpu0;
      const groups = s.groups as { first_seen_ms: number; last_seen_ms: number }[];
      const first = Math.min(...groups.map((g) => g.first_seen_ms));
      const last = Math.max(...groups.map((g) => g.last_seen_ms));
      return { delivered: s.stats.events_received as number, seconds: Math.max(last - first, 1) / 1000, workloadSeconds, cpuSeconds: cpu };
    },
    rate,
  );
}

/**
 * bpftrace's script: the same fields, printed as one JSON object per event. Its BEGIN line says the probe is attached
 * (bpftrace prints attached_probes before it attaches, BEGIN after).
 */
function bpftraceScript(pid: number): string {
  const fmt = String.raw`{\"pid\": %d, \"tgid\": %d, \"ts_ns\": %llu, \"comm\": \"%s\", \"seq\": %llu, \"cpu\": %d}\n`;
  return `BEGIN { printf("attached\\n"); } tracepoint:syscalls:sys_enter_getpid /pid == ${pid}/ { @seq++; printf("${fmt}", tid, pid, nsecs, comm, @seq, cpu); }`;
}

/** Counts a pattern across the chunks of a stream, including occurrences split between chunks. */
class Counter {
  count = 0;
  private carry = Buffer.alloc(0);

  constructor(private readonly pattern: Buffer) {}

  feed(chunk: Buffer): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    for (let at = buf.indexOf(this.pattern); at >= 0; at = buf.indexOf(this.pattern, at + this.pattern.length)) this.count++;
    this.carry = Buffer.from(buf.subarray(Math.max(0, buf.length - this.pattern.length + 1)));
  }
}

/** bpftrace -f json with its own program; delivery is a printf line reaching its reader (this process). */
async function bpftraceRun(events: number): Promise<Run> {
  const w = await pausedWorkload(['getpid', String(events)]);
  const child = spawn('bpftrace', ['-f', 'json', '-e', bpftraceScript(w.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const printed = new Counter(Buffer.from('{"type": "printf", "data": "{\\"pid\\"'));
    let lostReported = 0;
    let first = 0;
    let last = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const done = exited(child);
    await waitForLine(child.stdout, (l) => l.includes('"data": "attached\\n"'), `bpftrace (${stderr})`, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      const before = printed.count;
      printed.feed(d);
      if (printed.count > before) {
        last = nowMs();
        if (!first) first = last;
      }
      if (d.includes('lost_events')) for (const m of d.toString().matchAll(/"lost_events", "data": \{"events": (\d+)\}/g)) lostReported += Number(m[1]);
    });
    const workloadSeconds = await release(w);
    // Wait while lines keep coming: until a second passes with none, counted from the release when none came yet.
    const released = nowMs();
    while (printed.count < events && nowMs() - Math.max(last, released) < 1000) await sleep(100);
    child.kill('SIGINT');
    await Promise.race([done, sleep(10_000)]);
    if (lostReported) note(`bpftrace reported ${lostReported} lost events`);
    return {
      delivered: printed.count,
      rate: printed.count / (Math.max(last - first, 1) / 1000),
      lost: events - printed.count,
      kernelDropped: null,
      workloadSeconds,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    w.kill();
  }
}

/** Runs the rounds and returns the live_events row. */
export async function liveEvents(cfg: LiveConfig, server: Server): Promise<Section> {
  const runs: { c: Run; server: Run; bpftrace: Run }[] = [];
  for (let r = 0; r < cfg.rounds; r++) {
    const c = await cRun(cfg.events);
    const durationMs = Math.min(55_000, Math.ceil(c.workloadSeconds * 2000) + 2000);
    const ours = await serverRun(server, cfg.events, durationMs);
    const bt = await bpftraceRun(cfg.events);
    runs.push({ c, server: ours, bpftrace: bt });
    const show = (x: Run) => `${Math.round(x.rate)} /s lost ${x.lost}`;
    note(`live round ${r + 1}/${cfg.rounds}: C ${show(c)}, server ${show(ours)}, bpftrace ${show(bt)}`);
  }
  const rate = (k: 'c' | 'server' | 'bpftrace') => median(runs.map((x) => x[k].rate));
  const lost = (k: 'c' | 'server' | 'bpftrace') => runs.reduce((n, x) => n + x[k].lost, 0);
  const lossOk = runs.every((x) => x.c.lost > 0 || x.server.lost === 0);
  const row = rateRow('live_events', rate('server'), 'events/s', '`bpftrace -f json` printf of the same fields', rate('bpftrace'), 'no loss where C loses none; >= bpftrace', 1);
  row.met = row.met === true && lossOk;
  const describe = (x: Run) =>
    `${Math.round(x.rate)} /s, ${x.delivered} delivered, ${x.lost} lost` +
    (x.kernelDropped === null ? '' : ` (ring refused ${x.kernelDropped})`) +
    `, workload ran ${x.workloadSeconds.toFixed(2)} s` +
    (x.perWakeup === undefined ? '' : `, ${x.perWakeup.toFixed(1)} records per wakeup`);
  const line = (k: 'c' | 'server' | 'bpftrace', name: string) => `${name}: ${runs.map((x) => describe(x[k])).join('; ')}`;
  return {
    title: 'Live events (`live_events`)',
    rows: [row],
    how:
      `The workload (test/workload) makes exactly ${cfg.events} getpid calls in a tight loop, released once the consumer ` +
      'reads. For the C consumer and the server, the benchmark loads bench/bpf/live.bpf.c, aims it at the workload\'s ' +
      'tgid and attaches it to syscalls/sys_enter_getpid: one 48-byte record (pid, tgid, ts, comm, seq, cpu, flags) per ' +
      'call into an 8 MiB ring buffer, counting records the full ring refuses. C: bench/c/live_consume.c, ' +
      '`ring_buffer__poll` with a counting callback. Server: stream_events with aggregate group_by ["tgid"] through the ' +
      'SDK client (every record decoded). bpftrace: `bpftrace -f json` with a program on the same tracepoint filtered ' +
      'by pid that printf-s the same fields as a JSON object (its own perf buffer), its stdout read by the benchmark. ' +
      'Delivered/s = records delivered / (last - first delivery, on the consumer\'s clock: per record for C and the ' +
      'server, per stdout chunk for bpftrace). Lost = calls made - records delivered. ' +
      `${cfg.rounds} rounds of C, server, bpftrace; rates are medians, losses are summed. The row's anchor is bpftrace; ` +
      `the C figures are below. Met when the server lost nothing in every round where C lost nothing, and its rate is at least bpftrace's. ` +
      'Delivered/s is bounded by the producer: getpid with the syscall tracepoint enabled runs several times slower ' +
      'than without, and a consumer that wakes for every record (C here, see records per wakeup) slows the ' +
      'workload further with wakeups, so a higher figure does not mean a cheaper consumer.',
    details: [
      `C consumer median ${Math.round(rate('c'))} events/s, ${lost('c')} lost in all; server ${lost('server')} lost; bpftrace ${lost('bpftrace')} lost`,
      line('c', 'C per round'),
      line('server', 'server per round'),
      line('bpftrace', 'bpftrace per round'),
    ],
  };
}

/** Sizes of the CPU per event benchmark. */
export interface LiveCpuConfig {
  /** getpid calls per run, and their rate a second (the same for both consumers). */
  events: number;
  rate: number;
  /** Rounds of (C, server). */
  rounds: number;
}

/** C and the server in turn on the paced workload; returns the live_cpu_per_event row. */
export async function liveCpu(cfg: LiveCpuConfig, server: Server): Promise<Section> {
  const runs: { c: Run; server: Run }[] = [];
  const durationMs = Math.ceil((cfg.events / cfg.rate) * 1000) + 2000;
  const perEvent = (x: Run) => ((x.cpuSeconds ?? NaN) / x.delivered) * 1e6;
  for (let r = 0; r < cfg.rounds; r++) {
    const c = await cRun(cfg.events, cfg.rate);
    const ours = await serverRun(server, cfg.events, durationMs, cfg.rate);
    runs.push({ c, server: ours });
    note(`live cpu round ${r + 1}/${cfg.rounds}: C ${perEvent(c).toFixed(2)} us/event (lost ${c.lost}), server ${perEvent(ours).toFixed(2)} us/event (lost ${ours.lost})`);
  }
  const lossless = runs.filter((x) => x.c.lost === 0 && x.server.lost === 0);
  if (lossless.length === 0) throw new Error(`no round without loss at ${cfg.rate} events/s: ${runs.map((x) => `C lost ${x.c.lost}, server ${x.server.lost}`).join('; ')}`);
  const cus = median(lossless.map((x) => perEvent(x.c)));
  const ous = median(lossless.map((x) => perEvent(x.server)));
  const row = costRow('live_cpu_per_event', ous, 'us CPU/event', 'C libbpf consumer (bench/c/live_consume.c, `ring_buffer__poll`, counting)', cus, 'ours <= 2 x C, both without loss', 0.5);
  const describe = (x: Run) =>
    `${perEvent(x).toFixed(2)} us/event (${(x.cpuSeconds ?? 0).toFixed(2)} s CPU for ${x.delivered} delivered, ${x.lost} lost, workload ran ${x.workloadSeconds.toFixed(2)} s` +
    (x.perWakeup === undefined ? ')' : `, ${x.perWakeup.toFixed(1)} records per wakeup)`);
  return {
    title: 'CPU per event (`live_cpu_per_event`)',
    rows: [row],
    how:
      `The workload makes ${cfg.events} getpid calls paced at ${cfg.rate} a second (test/workload getpid-paced: each millisecond's ` +
      'share, then a sleep to the next millisecond), so both consumers face the same producer at the same rate; the live program ' +
      '(bench/bpf/live.bpf.c, as in live_events) writes one 48-byte record per call into its 8 MiB ring. C: bench/c/live_consume.c ' +
      '(`ring_buffer__poll`, a counting callback), its utime + stime read from /proc/self/stat when it is ready and when it ends. ' +
      'Ours: the server process (./bin/ebpf-mcp-server over stdio) running stream_events with aggregate group_by ["tgid"] through the ' +
      `SDK client for ${durationMs} ms (every record counted into its group), its utime + stime read from /proc/PID/stat before ` +
      'the request and after the answer (so it includes handling the call). CPU per event = CPU seconds / records delivered. ' +
      `${cfg.rounds} rounds of C then server; the figures are medians over rounds in which neither lost a record ` +
      `(${lossless.length} of ${cfg.rounds}). Ratio = C / ours; the target (ours <= 2 x C) is a ratio >= 0.5. ` +
      `Times have the resolution of a clock tick (${(1000 / TICKS_PER_S).toFixed(0)} ms).`,
    details: [`C per round: ${runs.map((x) => describe(x.c)).join('; ')}`, `server per round: ${runs.map((x) => describe(x.server)).join('; ')}`],
  };
}
