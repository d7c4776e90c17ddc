/**
 * `make bench`: every benchmark against its anchor in one run, printed as it
 * goes, then bench/results/latest.json, docs/BENCHMARKS.md and
 * docs/benchmarks.svg (beside the Markdown). Targets are
 * reported, not asserted: the exit status is 1 only when a benchmark could
 * not run at all.
 *
 * usage: node dist/bench/run.js [--smoke] [--only NAME,...] [--out FILE] [--docs FILE]
 *   --smoke  tiny sizes (20k records, 50 programs, a 3 s flood) to check the harness itself
 *   --only   run only the benchmarks producing these rows (for working on one; the files then hold only them)
 *   --out    where the JSON rows go (default bench/results/latest.json)
 *   --docs   where the Markdown table goes (default docs/BENCHMARKS.md; "-" for none)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { native } from '../src/kernel/native.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { type DrainConfig, ringbufDrain } from './drain.js';
import { type FirstEventConfig, firstEvent } from './first-event.js';
import { type FootprintConfig, footprint } from './footprint.js';
import { type InspectConfig, inspectPrograms } from './inspect.js';
import { type Server, WORKLOAD, benchBinary, benchObject, note, nowMs, startServer } from './lib.js';
import { type LiveConfig, type LiveCpuConfig, liveCpu, liveEvents } from './live.js';
import { type LoadConfig, loadObject } from './load.js';
import { type TableBytesConfig, tableBytes } from './table-bytes.js';
import { ROW_NAMES, type Row, type RowName, type Section, consoleLine, failedRow, machine, markdown, svgChart, thresholds } from './report.js';

/** Sizes of every benchmark. */
interface Config {
  drain: DrainConfig;
  live: LiveConfig;
  liveCpu: LiveCpuConfig;
  firstEvent: FirstEventConfig;
  table: TableBytesConfig;
  inspect: InspectConfig;
  load: LoadConfig;
  footprint: FootprintConfig;
}

const FULL: Config = {
  drain: { records: 1_000_000, rounds: 7, aggregateRounds: 5, aggregateMs: 2000, btfDumpRecords: 200_000, btfDumpRounds: 3 },
  live: { events: 500_000, rounds: 3 },
  liveCpu: { events: 200_000, rate: 50_000, rounds: 3 },
  firstEvent: { runs: 5 },
  table: { records: 2000 },
  inspect: { programs: 1000, morePrograms: 9000, runs: 7 },
  load: { runs: 7 },
  footprint: { starts: 5, settleMs: 1000, floodSeconds: 50 },
};

const SMOKE: Config = {
  drain: { records: 20_000, rounds: 1, aggregateRounds: 1, aggregateMs: 1000, btfDumpRecords: 5_000, btfDumpRounds: 1 },
  live: { events: 20_000, rounds: 1 },
  liveCpu: { events: 5_000, rate: 10_000, rounds: 1 },
  firstEvent: { runs: 1 },
  table: { records: 200 },
  inspect: { programs: 50, morePrograms: 50, runs: 1 },
  load: { runs: 1 },
  footprint: { starts: 1, settleMs: 200, floodSeconds: 3 },
};

/** One benchmark: the rows it produces and how to run it. */
interface Bench {
  names: RowName[];
  run(server: Server): Promise<Section>;
}

/** Refuses to start without the pieces `make bench-build` makes and the anchors' tools. */
function checkPrerequisites(): void {
  const missing = [benchObject('ringbuf'), benchObject('live'), benchObject('nop'), benchBinary('ringbuf_drain'), benchBinary('ringbuf_comm'), benchBinary('ringbuf_btf_dump'), benchBinary('live_consume'), WORKLOAD].filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run make bench-build`);
  for (const tool of ['bpftool', 'bpftrace']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed: run scripts/setup.sh`);
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { smoke: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' }, docs: { type: 'string' } },
    strict: true,
  });
  const cfg = values.smoke ? SMOKE : FULL;
  const out = values.out ?? join(PACKAGE_ROOT, 'bench', 'results', 'latest.json');
  const docs = values.docs ?? join(PACKAGE_ROOT, 'docs', 'BENCHMARKS.md');
  checkPrerequisites();

  const started = nowMs();
  const date = new Date();
  const all: Bench[] = [
    { names: ['startup_ms', 'idle_rss_mb', 'flood_rss_mb'], run: () => footprint(cfg.footprint) },
    { names: ['ringbuf_drain_raw', 'ringbuf_drain_decoded', 'ringbuf_drain_aggregate', 'ringbuf_filter', 'ringbuf_aggregate_raw', 'ringbuf_decoded_vs_btf_dump'], run: (s) => ringbufDrain(cfg.drain, s) },
    { names: ['live_events'], run: (s) => liveEvents(cfg.live, s) },
    { names: ['live_cpu_per_event'], run: (s) => liveCpu(cfg.liveCpu, s) },
    { names: ['first_event_ms'], run: (s) => firstEvent(cfg.firstEvent, s) },
    { names: ['table_bytes_per_event'], run: (s) => tableBytes(cfg.table, s) },
    { names: ['inspect_1000_programs', 'inspect_10000_programs'], run: (s) => inspectPrograms(cfg.inspect, s) },
    { names: ['load_object'], run: (s) => loadObject(cfg.load, s) },
  ];
  const only = values.only?.split(',');
  const unknown = only?.filter((n) => !(ROW_NAMES as readonly string[]).includes(n)) ?? [];
  if (unknown.length) throw new Error(`--only: no row ${unknown.join(', ')} (rows: ${ROW_NAMES.join(', ')})`);
  const benches = only ? all.filter((b) => b.names.some((n) => only.includes(n))) : all;
  const sections: Section[] = [];
  const failed: Row[] = [];
  const { server } = await startServer(['--enable-tools', 'unload_program']);
  try {
    for (const b of benches) {
      try {
        const section = await b.run(server);
        sections.push(section);
        for (const r of section.rows) process.stdout.write(`${consoleLine(r)}\n`);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        note(`${b.names.join(', ')} could not run: ${why}`);
        failed.push(...b.names.map((n) => failedRow(n, why.split('\n')[0] ?? why)));
      }
    }
  } finally {
    await server.close();
  }

  const rows = [...sections.flatMap((s) => s.rows), ...failed].sort((a, b) => ROW_NAMES.indexOf(a.name) - ROW_NAMES.indexOf(b.name));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(rows, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  note(`wrote ${out}`);
  if (docs !== '-') {
    if (failed.length) sections.push({ title: 'Not measured', rows: failed, how: 'These benchmarks could not run in this run:', details: failed.map((r) => `${r.name}: ${r.anchor}`) });
    writeFileSync(docs, markdown(rows, sections, machine(native.libbpfVersion().version), date, (nowMs() - started) / 1000));
    const svg = join(dirname(docs), 'benchmarks.svg');
    writeFileSync(svg, svgChart(rows, thresholds()));
    note(`wrote ${docs} and ${svg}`);
  }
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    note(`could not run: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
