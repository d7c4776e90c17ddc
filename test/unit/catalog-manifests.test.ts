/**
 * The catalog's manifests against the objects they describe: each names a
 * built object, each parameter sets a real `const volatile` global of it (read
 * from the object's BTF) with a value that fits its type, and each `read`
 * names a map the object has.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { elfSection, encodeValue } from '../../src/btf/index.js';
import { CATALOG, type CatalogEntry, catalogEntry, loadCall } from '../../src/catalog/index.js';
import { objectGlobals } from '../../src/obj/object-globals.js';
import { CATALOG_DIR } from '../../src/paths.js';

/** A value for every parameter of every entry: what the test sets. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  execsnoop: { pid: 1234 },
  opensnoop: { pid: 1234 },
  tcpstates: {},
  tcplife: { pid: 1234, port: 8080, family: 'AF_INET6' },
  tcpconnect: { pid: 1234, port: 8080, min_latency_us: 1000 },
  exitsnoop: { pid: 1234, failed_only: true, threads: true },
  sigsnoop: { pid: 1234, signal: 'SIGUSR1', failed_only: true },
  oomkill: {},
  syscount: { pid: 1234 },
  syscall_latency: { pid: 1234 },
  runqlat: { pid: 1234, per_process: true },
  biolatency: { disk: '8:1', per_disk: true, queued: true },
  profile: { pid: 1234, frequency: 99, kernel_only: true, user_only: true, include_idle: true },
  offcputime: { pid: 1234, min_block_us: 1000, max_block_us: 1_000_000, kernel_only: true },
};

/** The names of the object's maps (the vars of its .maps section). */
function mapNames(btf: NonNullable<ReturnType<typeof objectGlobals>['btf']>): string[] {
  return btf.types.flatMap((t) => (t.kind === 'datasec' && t.name === '.maps' ? t.vars.map((v) => btf.type(v.type).name ?? '') : []));
}

test('names are the libbpf-tools ones, one entry per built object', () => {
  assert.deepEqual(CATALOG.map((e) => e.name), Object.keys(SAMPLES));
  assert.equal(new Set(CATALOG.map((e) => e.object)).size, CATALOG.length);
});

for (const e of CATALOG as readonly CatalogEntry[]) {
  test(`${e.name}: ${e.object} exists, its parameters set its const volatile globals, and ${JSON.stringify(e.read)} names its map`, () => {
    const elf = readFileSync(join(CATALOG_DIR, e.object));
    const { btf, globals } = objectGlobals(elf);
    assert.ok(btf, `${e.object} has no BTF`);
    const rodata = Uint8Array.from(elfSection(elf, '.rodata') ?? []);
    const params = globals.filter((g) => g.section === '.rodata' && g.constVolatile);
    const sample = SAMPLES[e.name] ?? {};
    assert.deepEqual(Object.keys(sample).sort(), Object.keys(e.parameters.shape).sort(), 'the samples cover every parameter');
    // Each parameter alone sets exactly one global, which exists and takes the value; a sampling frequency sets the attachment's instead.
    for (const [name, value] of Object.entries(sample)) {
      const parsed = e.parameters.parse({ [name]: value });
      const set = e.globals(parsed);
      if (name === 'frequency' && e.frequency) {
        assert.deepEqual(set, {}, 'the frequency is an attach setting, not a global');
        assert.equal(e.frequency(parsed), value);
        continue;
      }
      assert.equal(Object.keys(set).length, 1, `${name} sets ${JSON.stringify(set)}`);
      for (const [global, v] of Object.entries(set)) {
        const p = params.find((g) => g.name === global);
        assert.ok(p, `${name} sets ${global}, not a const volatile global of ${e.object} (${params.map((g) => g.name).join(', ')})`);
        encodeValue(btf, p.typeId, v, rodata, p.offset);
      }
    }
    assert.deepEqual(e.globals(e.parameters.parse({})), {}, 'no parameter given sets nothing');
    const maps = mapNames(btf);
    const map = 'buffer' in e.read ? e.read.buffer : e.read.map;
    assert.ok(maps.includes(map), `${e.object} has no map ${map} (${maps.join(', ')})`);
    assert.equal(e.attach, 'auto');
    assert.ok(e.how.length >= 3 && e.how[0]?.startsWith(`load_program {"source": {"type": "catalog", "name": "${e.name}"`), JSON.stringify(e.how));
  });
}

test('loadCall with JSON parameters is a load_program call whose arguments are JSON', () => {
  const call = loadCall('tcplife', JSON.stringify({ pid: 42, port: 443 }));
  assert.ok(call.startsWith('load_program '));
  assert.deepEqual(JSON.parse(call.slice('load_program '.length)), { source: { type: 'catalog', name: 'tcplife', parameters: { pid: 42, port: 443 } } });
  assert.deepEqual(JSON.parse(loadCall('tcpstates').slice('load_program '.length)), { source: { type: 'catalog', name: 'tcpstates' } });
});

test('friendly values become the kernel\'s: signal names their numbers, "major:minor" a dev_t', () => {
  const sig = catalogEntry('sigsnoop')!;
  assert.deepEqual(sig.globals(sig.parameters.parse({ signal: 'SIGUSR1' })), { target_signal: constants.signals.SIGUSR1 });
  assert.deepEqual(sig.globals(sig.parameters.parse({ signal: 9 })), { target_signal: 9 });
  assert.equal(sig.parameters.safeParse({ signal: 'SIGNOPE' }).success, false);
  const bio = catalogEntry('biolatency')!;
  assert.deepEqual(bio.globals(bio.parameters.parse({ disk: '8:1' })), { target_dev: (8 << 20) | 1 });
  assert.deepEqual(bio.globals(bio.parameters.parse({ disk: 8388609 })), { target_dev: 8388609 });
  assert.equal(bio.parameters.safeParse({ disk: 'sda' }).success, false);
  assert.equal(bio.parameters.safeParse({ disk: '8:1048576' }).success, false);
  assert.equal(bio.parameters.safeParse({ disk: '4096:0' }).success, false);
  assert.equal(catalogEntry('execsnoop')!.parameters.safeParse({ pid: 1, x: 1 }).success, false);
});
