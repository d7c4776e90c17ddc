/**
 * The pin record with many writers: processes recording pins at once lose no
 * entry and fail no call; an entry goes once its pin is gone, and not before.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { PinRegistry } from '../../src/session/pin-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-record-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const REGISTRY_MODULE = new URL('../../src/session/pin-registry.js', import.meta.url).href;

/** A child process that records `count` pins (plain files standing in for pins) named w<writer>-<i>. */
function writer(record: string, pins: string, writerId: number, count: number): Promise<unknown> {
  const script = `
    import { writeFileSync } from 'node:fs';
    const { PinRegistry } = await import(${JSON.stringify(REGISTRY_MODULE)});
    const r = new PinRegistry(${JSON.stringify(record)});
    for (let i = 0; i < ${count}; i++) {
      const path = ${JSON.stringify(pins)} + '/w${writerId}-' + i;
      writeFileSync(path, '');
      r.add(path, { kind: 'map', id: ${writerId} * 1000 + i, session: 's${writerId}', pinned_at: 'now' });
    }`;
  return promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
}

test('10 processes recording 50 pins each at once: all 500 entries, no temporary file left', async () => {
  const record = join(dir, 'record');
  const pins = mkdtempSync(join(dir, 'pins-'));
  await Promise.all(Array.from({ length: 10 }, (_, w) => writer(record, pins, w, 50)));
  const lookup = new PinRegistry(record).snapshot();
  let found = 0;
  for (let w = 0; w < 10; w++) {
    for (let i = 0; i < 50; i++) {
      const r = lookup(join(pins, `w${w}-${i}`), 'map', w * 1000 + i);
      if (r?.session === `s${w}`) found++;
    }
  }
  assert.equal(found, 500);
  assert.deepEqual(readdirSync(record).filter((n) => !n.endsWith('.json')), []);
});

test('an entry is kept while its pin exists and dropped once it is gone; one for another object is not a match', () => {
  const record = join(dir, 'record-2');
  const registry = new PinRegistry(record);
  const pin = join(dir, 'a-pin');
  writeFileSync(pin, '');
  registry.add(pin, { kind: 'link', id: 7, session: 'x', pinned_at: 't' });
  registry.remove(pin, 'link', 7);
  assert.equal(registry.snapshot()(pin, 'link', 7)?.session, 'x', 'an entry whose pin still exists was dropped');
  assert.equal(registry.snapshot()(pin, 'link', 8), undefined);
  assert.equal(registry.snapshot()(pin, 'map', 7), undefined);
  rmSync(pin);
  assert.equal(registry.snapshot()(pin, 'link', 7), undefined);
  assert.deepEqual(readdirSync(record), [], 'the entry of a gone pin stayed on disk');
});
