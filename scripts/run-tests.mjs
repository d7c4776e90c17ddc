#!/usr/bin/env node
// Runs every compiled test (dist/test/**/*.test.js) in one node:test run, one
// file at a time: kernel tests count system-wide objects and must not overlap.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const groups = ['unit', 'kernel', 'e2e'];
const only = process.argv.slice(2);
const files = [];
for (const group of groups) {
  if (only.length && !only.includes(group)) continue;
  const dir = join(root, 'dist', 'test', group);
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    continue;
  }
  files.push(...names.filter((n) => n.endsWith('.test.js')).sort().map((n) => join(dir, n)));
}
if (files.length === 0) {
  console.error('run-tests: no compiled tests under dist/test (run make build first)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
