import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { allMaps, allPrograms, listIds, mapInfo, programInfo } from '../../src/kernel/inventory.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { bpftoolPrograms, eventually } from '../helpers/bpftool.js';
import { fixture } from '../helpers/fixtures.js';

test('program and map info agree with bpftool and with what was loaded', () => {
  const obj = BpfObject.open(readFileSync(fixture('multi')), 'multi');
  try {
    obj.load();
    const before = Date.now();
    const prog = obj.programs().find((p) => p.name === 'count_syscalls');
    assert.ok(prog);
    const id = native.progInfo(prog.fd).id;
    assert.ok(listIds('program').includes(id));
    const info = programInfo(id);
    const witness = bpftoolPrograms().find((p) => p.id === id);
    assert.ok(info && witness);
    assert.equal(info.name, 'count_syscalls');
    assert.equal(info.type, 'raw_tracepoint');
    assert.equal(info.tag, witness.tag);
    assert.deepEqual([...info.mapIds].sort(), [...(witness.map_ids ?? [])].sort());
    assert.ok(Math.abs(Date.parse(info.loadedAt) - before) < 5000, `loaded_at ${info.loadedAt} is not now`);
    const counts = obj.maps().find((m) => m.name === 'calls_by_tgid');
    assert.ok(counts);
    const m = mapInfo(native.mapInfo(counts.fd).id);
    assert.deepEqual(m && [m.name, m.type, m.keySize, m.valueSize, m.maxEntries], ['calls_by_tgid', 'hash', 4, 8, 1024]);
    assert.ok(info.mapIds.includes(m?.id ?? -1));
  } finally {
    obj.close();
  }
});

test('the one walk over every program and map reads each as its read by id does, in id order, and leaves out what is gone', async () => {
  const obj = BpfObject.open(readFileSync(fixture('multi')), 'multi');
  try {
    obj.load();
    const programs = obj.programs().filter((p) => p.fd >= 0).map((p) => native.progInfo(p.fd).id);
    const maps = obj.maps().map((m) => native.mapInfo(m.fd).id);
    assert.ok(programs.length >= 2 && maps.length >= 2, `${programs.length} programs, ${maps.length} maps`);
    const all = allPrograms();
    const allM = allMaps();
    for (const list of [all, allM]) assert.deepEqual(list.map((x) => x.id), [...list.map((x) => x.id)].sort((a, b) => a - b));
    for (const id of programs) {
      const walked = all.find((p) => p.id === id);
      assert.deepEqual(walked, programInfo(id), `program ${id}`);
      assert.ok(walked && walked.mapIds.length > 0, `program ${id} has its maps`);
    }
    for (const id of maps) assert.deepEqual(allM.find((m) => m.id === id), mapInfo(id), `map ${id}`);
    obj.close();
    const left = () => [...allPrograms(), ...allMaps()].filter((x) => (programs.includes(x.id) && 'tag' in x) || (maps.includes(x.id) && 'keySize' in x));
    assert.ok(await eventually(() => left().length === 0), `still listed once closed: ${JSON.stringify(left().map((x) => x.id))}`);
  } finally {
    obj.close();
  }
});

test('an id that does not exist reads as undefined, not an error', () => {
  assert.equal(programInfo(0x7ffffff0), undefined);
  assert.equal(mapInfo(0x7ffffff0), undefined);
});
