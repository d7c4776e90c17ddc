/**
 * Files a client names are never read in a way that blocks or runs without
 * bound: special files and pseudo-filesystem files are refused with a typed
 * error at once, and a huge sparse binary is checked from its headers alone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, realpathSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ClientFile } from '../../src/kernel/client-file.js';
import { InvalidRequest, TargetNotFound } from '../../src/kernel/errors.js';
import { ensureMounts } from '../../src/kernel/host.js';
import { checkBinary } from '../../src/kernel/targets.js';
import { readObjectSource } from '../../src/policy/object-source.js';
import { WORKLOAD } from '../helpers/kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-files-'));
const fifo = join(dir, 'fifo');
const sock = join(dir, 'sock');
const sparse = join(dir, 'sparse');
const sparseElf = join(dir, 'sparse-elf');
let server: Server;
const TWO_GB = 2 * 1024 ** 3;

before(async () => {
  ensureMounts();
  execFileSync('mkfifo', [fifo]);
  server = createServer();
  await new Promise<void>((done) => server.listen(sock, done));
  writeFileSync(sparse, '');
  truncateSync(sparse, TWO_GB);
  copyFileSync(WORKLOAD, sparseElf);
  truncateSync(sparseElf, TWO_GB);
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `fn`, which must throw an InvalidRequest matching `pattern` within 200 ms. */
function refusedAtOnce(fn: () => unknown, pattern: RegExp): void {
  const start = performance.now();
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidRequest, `expected InvalidRequest, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
  assert.ok(performance.now() - start < 200, `took ${performance.now() - start} ms`);
}

test('special files are refused without being read, whatever their kind', () => {
  const cases: [string, RegExp][] = [
    [fifo, /is a FIFO, not a regular file/],
    [sock, /is a socket, not a regular file/],
    ['/dev/zero', /is a character device, not a regular file/],
    [dir, /is a directory, not a regular file/],
    ['/proc/kmsg', /is on proc, a kernel interface filesystem/],
    ['/proc/self/status', /is on proc/],
    ['/sys/kernel/btf/vmlinux', /is on sysfs/],
    ['/sys/kernel/tracing/trace_pipe', /is on tracefs/],
    ['/sys/fs/bpf', /is a directory/],
    ['/sys/fs/cgroup/unified/cgroup.procs', /is on cgroup2/],
  ];
  for (const [path, pattern] of cases) {
    if (!existsSync(path)) continue;
    refusedAtOnce(() => ClientFile.open(path, 'f'), pattern);
    refusedAtOnce(() => checkBinary(path, 'main'), pattern);
    refusedAtOnce(() => readObjectSource({ type: 'file', path }, 1 << 20), pattern);
  }
});

test("the kernel's BTF in sysfs is taken only where asked for (btf_path)", () => {
  ClientFile.with('/sys/kernel/btf/vmlinux', 'btf_path', (f) => assert.ok(f.size > 1024), true);
  refusedAtOnce(() => ClientFile.open('/sys/kernel/btf/vmlinux', 'f'), /is on sysfs/);
  refusedAtOnce(() => ClientFile.open('/sys/kernel/notes', 'f', true), /is on sysfs/);
});

test('a symbolic link is followed to its target and the checks apply to that', () => {
  const link = join(dir, 'to-kmsg');
  execFileSync('ln', ['-s', '/proc/kmsg', link]);
  refusedAtOnce(() => checkBinary(link, undefined), /is on proc/);
  const good = join(dir, 'to-workload');
  execFileSync('ln', ['-s', WORKLOAD, good]);
  ClientFile.with(good, 'f', (f) => assert.equal(f.path, realpathSync(WORKLOAD)));
});

test('a 2 GB sparse binary is checked from its headers and symbol tables: fast, small memory', () => {
  const rss = process.memoryUsage().rss;
  const start = performance.now();
  checkBinary(sparseElf, 'main');
  assert.throws(() => checkBinary(sparseElf, 'mian'), (e: unknown) => e instanceof TargetNotFound && e.suggestions[0] === 'main');
  refusedAtOnce(() => checkBinary(sparse, 'main'), /is not an ELF binary/);
  const ms = performance.now() - start;
  const grown = process.memoryUsage().rss - rss;
  assert.ok(ms < 500, `took ${ms} ms`);
  assert.ok(grown < 64 << 20, `RSS grew ${grown} bytes`);
});

test('a 2 GB sparse object is refused by its size before any read', () => {
  assert.throws(() => readObjectSource({ type: 'file', path: sparse }, 16 << 20), /2147483648 bytes, over the 16777216-byte limit/);
});
