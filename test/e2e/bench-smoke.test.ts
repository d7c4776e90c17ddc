/**
 * The benchmark harness (bench/, `make bench`) in its smoke mode: tiny sizes,
 * every benchmark and anchor really run, so the harness cannot rot. Checks the
 * shape of what it writes and what the new rows computed (1% matched, every
 * record counted, the same records as a table and as JSON), not the figures
 * (targets are for `make bench` to report).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROW_NAMES, type Row } from '../../bench/report.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** Runs the harness to completion; resolves with its exit code and output. */
function runHarness(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'bench', 'run.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('bench --smoke measures every figure against its anchor and writes the JSON rows and the table', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-bench-'));
  try {
    const out = join(dir, 'latest.json');
    const docs = join(dir, 'BENCHMARKS.md');
    const r = await runHarness(['--smoke', '--out', out, '--docs', docs]);
    assert.equal(r.code, 0, `the harness failed:\n${r.stderr}`);

    const rows = JSON.parse(readFileSync(out, 'utf8')) as Row[];
    assert.deepEqual(
      rows.map((row) => row.name),
      [...ROW_NAMES],
      'one row per figure of the issue, in its order',
    );
    for (const row of rows) {
      assert.deepEqual(Object.keys(row).sort(), ['anchor', 'anchor_value', 'met', 'name', 'ratio', 'target', 'unit', 'value'], row.name);
      for (const key of ['value', 'anchor_value', 'ratio'] as const) {
        const v = row[key];
        assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${row.name}.${key} is a positive number, got ${String(v)}`);
      }
      assert.ok(row.unit && row.anchor && row.target, `${row.name} names its unit, anchor and target`);
      assert.ok(row.met === null || typeof row.met === 'boolean', `${row.name}.met`);
      assert.match(r.stdout, new RegExp(`^${row.name} .* ratio `, 'm'), `${row.name} is printed with its anchor and ratio`);
    }

    const table = readFileSync(docs, 'utf8');
    for (const name of ROW_NAMES) assert.ok(table.includes(`| \`${name}\` |`), `the table has a ${name} row`);
    assert.match(table, /## Machine/);

    // The smoke fills hold 20000 records: record i has flags i % 100 and comm "comm-NN", NN = i % 64.
    assert.match(table, /^- \(e\) filter per round: .*; matched per round: 200$/m, 'the filter kept exactly 1% of the records');
    assert.match(table, /^- \(f\) C per comm per round: .*; groups 64, counted 20000$/m, "the C consumer's per-comm counts sum to the records");
    assert.match(table, /^- \(g\) aggregate per round: .*; groups 64, counted 20000$/m, "the pipeline's per-comm counts sum to the records");
    const bytes = /^- table: (\d+) bytes for (\d+) rows \(7 columns: pid, tgid, ts_ns, comm, seq, cpu, flags\); JSON: (\d+) bytes for (\d+) events$/m.exec(table);
    assert.ok(bytes, 'the table row says what it measured');
    assert.equal(bytes[2], bytes[4], 'table and JSON hold the same number of records');
    const tableRow = rows.find((row) => row.name === 'table_bytes_per_event');
    assert.equal(tableRow?.value, Number((Number(bytes[1]) / Number(bytes[2])).toPrecision(4)), 'bytes per event are the table bytes over its rows');
    assert.match(table, /^- ours per run \(ms\): \d+; of which load_program \d+, attach_program \d+$/m, 'the first event row timed one run of ours');
    assert.match(table, /^- 100 programs \(inspect_10000_programs; /m, 'the second inspect step has both steps loaded');

    const svg = readFileSync(join(dir, 'benchmarks.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const row of rows) assert.ok(svg.includes(`>${row.name}</text>`), `the chart has a bar for ${row.name}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
