/**
 * Crash isolation: libbpf opens an untrusted object first in a throwaway
 * process forked by the long-lived probe; its death by a signal is a typed
 * refusal, and the server lives on.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BpfObject } from '../../src/kernel/object.js';
import { probeOpen } from '../../src/kernel/open-probe.js';
import { wireError } from '../../src/tools/wire-error.js';
import { fixture } from '../helpers/fixtures.js';

test('the probe opens a good object and passes one libbpf refuses on to the in-process open', async () => {
  await probeOpen(readFileSync(fixture('multi')));
  await probeOpen(readFileSync('/bin/true'));
});

test('an object that kills the probe with a signal is a VALIDATION_ERROR saying it crashed the parser', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-probe-'));
  try {
    const crasher = join(dir, 'crash');
    writeFileSync(crasher, '#!/bin/sh\nkill -SEGV $$\n');
    chmodSync(crasher, 0o755);
    await assert.rejects(probeOpen(readFileSync(fixture('multi')), crasher), (e: unknown) => {
      const wire = wireError(e);
      assert.equal(wire.type, 'VALIDATION_ERROR');
      assert.match(wire.message, /crashed libbpf's parser \(SIGSEGV\) in a throwaway process/);
      assert.equal(wire.context.parser_signal, 'SIGSEGV');
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('one probe process serves objects sent at once, in turn, each in its own throwaway process', async () => {
  const elf = readFileSync(fixture('multi'));
  await Promise.all([probeOpen(elf), probeOpen(readFileSync('/bin/true')), probeOpen(elf)]);
});

test('a throwaway process killed by a signal refuses its object, and the probe goes on with the next', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-probe-'));
  try {
    // A probe that answers its first object as a throwaway process's death by SIGSEGV, then the rest as opened.
    const probe = join(dir, 'probe');
    writeFileSync(probe, '#!/bin/sh\necho "signal 11"\nwhile sleep 0.05; do echo "exit 0"; done\n');
    chmodSync(probe, 0o755);
    const elf = readFileSync(fixture('multi'));
    await assert.rejects(probeOpen(elf, probe), (e: unknown) => wireError(e).context.parser_signal === 'SIGSEGV');
    await probeOpen(elf, probe);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('openUntrusted checks, probes and opens: a good object opens, a malformed one is refused before libbpf', async () => {
  const obj = await BpfObject.openUntrusted(readFileSync(fixture('multi')), 'multi');
  try {
    assert.ok(obj.programs().length > 0);
  } finally {
    obj.close();
  }
  const bytes = readFileSync(fixture('multi'));
  bytes[4] = 1;
  await assert.rejects(BpfObject.openUntrusted(bytes, 'class32'), (e: unknown) => wireError(e).context.object_part === 'elf_header');
});
