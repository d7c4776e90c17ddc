/**
 * The benchmark's results: rows of figures against their anchors, the JSON
 * written to bench/results/latest.json, docs/BENCHMARKS.md and its chart,
 * docs/benchmarks.svg.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** The figures the issue names, in its order. */
export const ROW_NAMES = [
  'ringbuf_drain_raw',
  'ringbuf_drain_decoded',
  'ringbuf_drain_aggregate',
  'ringbuf_filter',
  'ringbuf_aggregate_raw',
  'ringbuf_decoded_vs_btf_dump',
  'live_events',
  'live_cpu_per_event',
  'first_event_ms',
  'table_bytes_per_event',
  'inspect_1000_programs',
  'inspect_10000_programs',
  'load_object',
  'startup_ms',
  'idle_rss_mb',
  'flood_rss_mb',
] as const;

/** One of the figure names. */
export type RowName = (typeof ROW_NAMES)[number];

/**
 * One figure: our value, the anchor's, and their ratio, oriented so that above 1 is better for
 * us (ours / anchor for rates, anchor / ours for times and sizes). `met` is null when the issue
 * sets no target for the figure; value, anchor_value and ratio are null when it could not run.
 */
export interface Row {
  name: RowName;
  value: number | null;
  unit: string;
  anchor: string;
  anchor_value: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

/** What one benchmark reports: its rows, how it measured them, and the figures behind them. */
export interface Section {
  title: string;
  rows: Row[];
  /** How the figures were measured, for the documentation. */
  how: string;
  /** Supporting figures (per-run values, counts, losses), one line each. */
  details: string[];
  /** Why a row's target is out of reach, with the measured floor: shown when the row misses it. */
  misses?: Partial<Record<RowName, string>>;
}

/** `x` to `digits` significant digits. */
const round = (x: number, digits = 4): number => Number(x.toPrecision(digits));

/** The ratio each row must reach to meet its target, by row. */
export type Thresholds = Partial<Record<RowName, number>>;

/** The ratio each row's target needs, as its row was made: the chart's ticks. */
const targetRatios: Thresholds = {};

/** The ratios the rows made so far need to meet their targets. */
export const thresholds = (): Thresholds => ({ ...targetRatios });

/** A rate row (higher is better): ratio = ours / anchor; met when ratio >= `minRatio` (no target: null). */
export function rateRow(name: RowName, value: number, unit: string, anchor: string, anchorValue: number, target: string, minRatio?: number): Row {
  const ratio = value / anchorValue;
  if (minRatio !== undefined) targetRatios[name] = minRatio;
  return { name, value: round(value), unit, anchor, anchor_value: round(anchorValue), ratio: round(ratio, 3), target, met: minRatio === undefined ? null : ratio >= minRatio };
}

/** A cost row (lower is better: time, memory): ratio = anchor / ours; met when ratio >= `minRatio`. */
export function costRow(name: RowName, value: number, unit: string, anchor: string, anchorValue: number, target: string, minRatio: number): Row {
  const ratio = anchorValue / value;
  targetRatios[name] = minRatio;
  return { name, value: round(value), unit, anchor, anchor_value: round(anchorValue), ratio: round(ratio, 3), target, met: ratio >= minRatio };
}

/** The row of a figure that could not be measured. */
export function failedRow(name: RowName, why: string): Row {
  return { name, value: null, unit: '', anchor: `not measured: ${why}`, anchor_value: null, ratio: null, target: '', met: null };
}

/** The machine the figures come from. */
export interface Machine {
  kernel: string;
  cpu: string;
  cores: number;
  memory_gb: number;
  node: string;
  libbpf: string;
  bpftool: string;
  bpftrace: string;
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'not installed';
  }
}

/** Facts about this machine. */
export function machine(libbpf: string): Machine {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    cpu: model,
    cores: cpus().length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    libbpf,
    bpftool: version('bpftool', ['version']),
    bpftrace: version('bpftrace', ['--version']),
  };
}

const fmt = (x: number | null): string => {
  if (x === null) return '—';
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(1)} k`;
  return String(x);
};

const metText = (m: boolean | null): string => (m === null ? 'no target' : m ? 'yes' : '**missed**');

/** One line per row for the console: figure, anchor, ratio, target. */
export function consoleLine(r: Row): string {
  if (r.value === null) return `${r.name.padEnd(24)} ${r.anchor}`;
  return `${r.name.padEnd(24)} ${fmt(r.value)} ${r.unit}  vs ${r.anchor}: ${fmt(r.anchor_value)}  ratio ${r.ratio}  target ${r.target}: ${r.met === null ? 'none' : r.met ? 'met' : 'MISSED'}`;
}

/** docs/BENCHMARKS.md: the table, the missed targets and their floors, the machine, the date, and how each figure was measured. */
export function markdown(rows: Row[], sections: Section[], m: Machine, date: Date, totalSeconds: number): string {
  const lines = [
    '# Benchmarks',
    '',
    'Generated by `make bench` (`node dist/bench/run.js`); do not edit by hand. Every figure is measured side by side',
    'with its anchor in the same run, because these machines are shared and noisy: the ratio is what to read.',
    'Ratio = ours / anchor for rates, anchor / ours for times, memory, CPU and bytes, so above 1 is always better for us.',
    'Startup and memory have fixed targets instead of a program to compare with: the target is the anchor there.',
    `The raw rows are in \`bench/results/latest.json\`; [benchmarks.svg](benchmarks.svg) plots each ratio against its target.`,
    '',
    `Run: ${date.toISOString()}, ${Math.round(totalSeconds)} s in all.`,
    '',
    '| figure | ours | unit | anchor | anchor figure | ratio | target | met |',
    '|---|---:|---|---|---:|---:|---|---|',
    ...rows.map((r) => `| \`${r.name}\` | ${fmt(r.value)} | ${r.unit} | ${r.anchor} | ${fmt(r.anchor_value)} | ${r.ratio ?? '—'} | ${r.target} | ${metText(r.met)} |`),
    '',
    '![ratio of each figure against its target](benchmarks.svg)',
    '',
  ];
  const misses = sections.flatMap((s) => s.rows.filter((r) => r.met === false).map((r) => [r.name, s.misses?.[r.name]] as const));
  if (misses.length) {
    lines.push('## Targets missed, and why', '');
    for (const [name, why] of misses) lines.push(`- \`${name}\`: ${why ?? 'missed in this run (no floor measured).'}`);
    lines.push('');
  }
  lines.push(
    '## Machine',
    '',
    `- kernel ${m.kernel}; ${m.cpu}, ${m.cores} cores (shared VM); ${m.memory_gb} GB memory`,
    `- Node ${m.node}; libbpf ${m.libbpf}; ${m.bpftool}; ${m.bpftrace}`,
    '',
    '## How each figure is measured',
    '',
  );
  for (const s of sections) {
    lines.push(`### ${s.title}`, '', s.how, '');
    if (s.details.length) lines.push(...s.details.map((d) => `- ${d}`), '');
  }
  return lines.join('\n');
}

/** XML text with its five special characters escaped. */
const xml = (t: string): string => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * docs/benchmarks.svg: one horizontal bar per measured row, its ratio on a log scale (above 1 is
 * better for us), with a tick at the ratio its target needs (`thresholds`); green when met, red
 * when missed, grey without a target.
 */
export function svgChart(rows: Row[], thresholds: Thresholds): string {
  const measured = rows.filter((r) => r.ratio !== null && r.ratio > 0);
  const label = 230;
  const plot = 520;
  const rowH = 22;
  const top = 40;
  const height = top + measured.length * rowH + 40;
  const width = label + plot + 90;
  const lo = Math.log10(0.01);
  const hi = Math.log10(100);
  const x = (ratio: number): number => label + ((Math.min(Math.max(Math.log10(ratio), lo), hi) - lo) / (hi - lo)) * plot;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${label}" y="18" font-size="13">ratio against the anchor (log scale; &gt; 1 is better for us); black tick: the target</text>`,
  ];
  for (const t of [0.01, 0.1, 1, 10, 100]) {
    out.push(`<line x1="${x(t)}" y1="${top - 8}" x2="${x(t)}" y2="${height - 30}" stroke="${t === 1 ? '#888' : '#ddd'}"/>`);
    out.push(`<text x="${x(t)}" y="${height - 14}" text-anchor="middle">${t}</text>`);
  }
  measured.forEach((r, i) => {
    const y = top + i * rowH;
    const ratio = r.ratio as number;
    const colour = r.met === null ? '#999' : r.met ? '#2e8b57' : '#c0392b';
    out.push(`<text x="${label - 8}" y="${y + 14}" text-anchor="end">${xml(r.name)}</text>`);
    out.push(`<rect x="${x(0.01)}" y="${y + 3}" width="${Math.max(1, x(ratio) - x(0.01))}" height="${rowH - 8}" fill="${colour}"/>`);
    out.push(`<text x="${x(ratio) + 4}" y="${y + 14}">${ratio}</text>`);
    const need = thresholds[r.name];
    if (need !== undefined) out.push(`<line x1="${x(need)}" y1="${y + 1}" x2="${x(need)}" y2="${y + rowH - 3}" stroke="#000" stroke-width="2"/>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
