import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readObjectSource } from '../../src/policy/object-source.js';
import { wireError } from '../../src/tools/wire-error.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-src-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60)]);

function refused(fn: () => unknown, type: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    const wire = wireError(e);
    assert.equal(wire.type, type);
    assert.match(wire.message, pattern);
    return true;
  });
}

test('a missing file, a directory and a relative path are validation errors', () => {
  refused(() => readObjectSource({ type: 'file', path: join(dir, 'nope.o') }, 1 << 20), 'VALIDATION_ERROR', /no such file/);
  refused(() => readObjectSource({ type: 'file', path: dir }, 1 << 20), 'VALIDATION_ERROR', /is a directory/);
  refused(() => readObjectSource({ type: 'file', path: 'relative.o' }, 1 << 20), 'VALIDATION_ERROR', /absolute path/);
});

test('a FIFO is refused at once instead of blocking', () => {
  const fifo = join(dir, 'fifo.o');
  execFileSync('mkfifo', [fifo]);
  const start = Date.now();
  refused(() => readObjectSource({ type: 'file', path: fifo }, 1 << 20), 'VALIDATION_ERROR', /not a regular file/);
  assert.ok(Date.now() - start < 1000);
});

test('a file that is not ELF, and one over the size limit, are refused', () => {
  const text = join(dir, 'text.o');
  writeFileSync(text, 'hello, not an object');
  refused(() => readObjectSource({ type: 'file', path: text }, 1 << 20), 'VALIDATION_ERROR', /not an ELF/);
  const big = join(dir, 'big.o');
  writeFileSync(big, Buffer.concat([ELF, Buffer.alloc(2048)]));
  refused(() => readObjectSource({ type: 'file', path: big }, 1024), 'RESOURCE_LIMIT_EXCEEDED', /over the 1024-byte limit/);
});

test('inline data: invalid base64, too large, wrong checksum; a good blob reads back exactly', () => {
  refused(() => readObjectSource({ type: 'data', blob: 'not base64!!' }, 1 << 20), 'VALIDATION_ERROR', /not valid base64/);
  refused(() => readObjectSource({ type: 'data', blob: Buffer.alloc(4096).toString('base64') }, 1024), 'RESOURCE_LIMIT_EXCEEDED', /4096 bytes/);
  const blob = ELF.toString('base64');
  refused(() => readObjectSource({ type: 'data', blob, checksum: `sha256:${'0'.repeat(64)}` }, 1 << 20), 'VALIDATION_ERROR', /does not match/);
  const sha = createHash('sha256').update(ELF).digest('hex');
  const ok = readObjectSource({ type: 'data', blob, checksum: `sha256:${sha}` }, 1 << 20);
  assert.deepEqual(Buffer.from(ok.bytes), ELF);
  assert.equal(ok.sha256, sha);
  assert.equal(ok.name, `blob_${sha.slice(0, 8)}`);
});

test('a file is read whole and named after itself', () => {
  const path = join(dir, 'probe.bpf.o');
  writeFileSync(path, ELF);
  const ok = readObjectSource({ type: 'file', path }, 1 << 20);
  assert.equal(ok.bytes.length, ELF.length);
  assert.equal(ok.name, 'probe');
});
