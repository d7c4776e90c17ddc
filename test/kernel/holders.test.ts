import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { attachTracepoint } from '../../src/kernel/attach.js';
import { scanHolders } from '../../src/kernel/holders.js';
import { mapWriters } from '../../src/kernel/map-writers.js';
import { BpfObject } from '../../src/kernel/object.js';
import { fixture } from '../helpers/fixtures.js';

const self = { pid: process.pid, comm: readFileSync('/proc/self/comm', 'utf8').trim() };

/** The pair fixture, loaded; closed by the caller. */
function pair(): { obj: BpfObject; prog: (name: string) => NonNullable<ReturnType<BpfObject['programs']>[number]>; map: (name: string) => number } {
  const obj = BpfObject.open(readFileSync(fixture('pair')), 'pair');
  obj.load();
  const prog = (name: string) => {
    const p = obj.programs().find((x) => x.name === name);
    assert.ok(p, name);
    return p;
  };
  const map = (name: string) => obj.maps().find((m) => m.name === name)?.id ?? 0;
  return { obj, prog, map };
}

for (const method of ['iterator', 'walk'] as const) test(`scanHolders by ${method}: this process holds its programs and maps, and its tracepoint's perf event runs the program`, () => {
  const { obj, prog, map } = pair();
  const link = attachTracepoint({ object: obj, program: prog('pair_enter') }, 'syscalls', 'sys_enter_getpid');
  try {
    const scan = scanHolders(undefined, method);
    assert.deepEqual(scan.programs.get(prog('pair_enter').id), [self]);
    assert.deepEqual(scan.programs.get(prog('pair_exit').id), [self]);
    assert.deepEqual(scan.maps.get(map('pair_events')), [self]);
    assert.deepEqual(scan.links.get(link.id as number), [self]);
    const perf = scan.perf.filter((a) => a.programId === prog('pair_enter').id);
    assert.deepEqual(perf.map((a) => [a.kind, a.name, a.holder]), [['tracepoint', 'sys_enter_getpid', self]]);
    assert.equal(scan.perf.some((a) => a.programId === prog('pair_exit').id), false);
  } finally {
    link.destroy();
    obj.close();
  }
});

test('scanHolders: its caps say what they left out', () => {
  const { obj, prog } = pair();
  try {
    const noFds = scanHolders({ maxProcesses: 4096, maxFds: 0 });
    assert.equal(noFds.programs.size + noFds.maps.size + noFds.links.size + noFds.perf.length, 0);
    assert.ok(noFds.extent.skippedFds > 0);
    const none = scanHolders({ maxProcesses: 0, maxFds: 65536 });
    assert.equal(none.extent.processes, 0);
    assert.ok(none.extent.skippedProcesses > 0);
    assert.equal(none.programs.get(prog('pair_enter').id), undefined);
  } finally {
    obj.close();
  }
});

test('mapWriters: the programs using a ring, split by whether they run', () => {
  const { obj, prog, map } = pair();
  const exit = { id: prog('pair_exit').id, name: 'pair_exit' };
  try {
    assert.deepEqual(mapWriters(map('pair_events')), { writers: [exit], attached: [], unattached: [exit] });
    assert.deepEqual(mapWriters(map('pair_events'), (id) => id === exit.id), { writers: [exit], attached: [exit], unattached: [] });
    const link = attachTracepoint({ object: obj, program: prog('pair_exit') }, 'syscalls', 'sys_exit_getpid');
    try {
      assert.deepEqual(mapWriters(map('pair_events')), { writers: [exit], attached: [exit], unattached: [] });
    } finally {
      link.destroy();
    }
  } finally {
    obj.close();
  }
});
