/**
 * The benchmark harness (bench/, `make bench`) in its smoke mode: tiny sizes,
 * every benchmark and anchor really run, so the harness cannot rot. Checks the
 * shape of what it writes, not the figures (targets are for `make bench` to report).
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
