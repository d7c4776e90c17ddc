/**
 * `make demo` as a newcomer runs it, with stdout piped (so not a terminal): it ends with status 0, writes no
 * escape sequence, shows the demo's own commands as execsnoop decoded them, a histogram, and names programs
 * that bpftool no longer lists.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { bpftoolIds } from '../helpers/bpftool.js';

const DEMO = join(PACKAGE_ROOT, 'dist', 'scripts', 'demo.js');

/** Runs the demo as the Makefile does; resolves with its pid, status, output and run time. */
function runDemo(env: Record<string, string | undefined>): Promise<{ pid: number; code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const proc = spawn(process.execPath, [DEMO], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ pid: proc.pid as number, code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

test('make demo, piped: exit 0, no ANSI codes, the commands it ran, a histogram, nothing left in the kernel', async () => {
  const r = await runDemo({ NO_COLOR: undefined });
  assert.equal(r.code, 0, `demo failed:\n${r.stderr}\n${r.stdout}`);
  assert.ok(!r.stdout.includes('\x1b'), 'an escape byte in piped output');
  assert.ok(r.ms < 20_000, `the demo took ${r.ms} ms`);

  // The table's rows: PID PPID COMM ARGS. Its uname was started by the demo, the process this test spawned.
  const uname = /^\s+(\d+)\s+(\d+)\s+uname\s+uname -r$/m.exec(r.stdout);
  assert.ok(uname, `no decoded exec of uname -r in:\n${r.stdout}`);
  assert.equal(Number(uname[2]), r.pid, 'uname\'s parent is the demo');
  assert.match(r.stdout, new RegExp(`uname -r \\(pid ${uname[1]}\\)`), 'the pid the demo spawned is the pid execsnoop saw');
  const sh = /^\s+(\d+)\s+\d+\s+sh\s+sh -c cat \/etc\/hostname$/m.exec(r.stdout);
  assert.ok(sh, 'the decoded exec of sh -c');
  assert.match(r.stdout, new RegExp(`^\\s+\\d+\\s+${sh[1]}\\s+cat\\s+cat /etc/hostname$`, 'm'), "cat's parent is the demo's sh");

  assert.match(r.stdout, /^\s+\d+ -> \d+\s+: \d+\s+\|\**\s*\|$/m, 'a histogram line');
  assert.match(r.stdout, /^\s+\d+%\s+\d+%\s+\S/m, 'a top function of the profile');

  const gone = /nothing left in the kernel: programs ([\d, ]+) are gone/.exec(r.stdout);
  assert.ok(gone?.[1], 'the "nothing left" line');
  const ids = gone[1].split(', ').map(Number);
  assert.ok(ids.length >= 3 && ids.every((id) => Number.isInteger(id) && id > 0), `program ids ${gone[1]}`);
  const now = bpftoolIds('prog');
  assert.deepEqual(ids.filter((id) => now.has(id)), [], 'bpftool still lists programs the demo said were gone');
});
