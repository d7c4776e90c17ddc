/**
 * The catalog's manifests against the objects they describe: each names a
 * built object (one per variant, the default's its own), each parameter sets a
 * real `const volatile` global of every one (read from the object's BTF) with
 * a value that fits its type, `hook` chooses the variant's object, and each
 * `read` names a map the objects have.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { elfSection, encodeValue } from '../../src/btf/index.js';
import { CATALOG, type CatalogEntry, DEFAULT_HOOK, catalogEntry, loadCall, objectOf } from '../../src/catalog/index.js';
import { objectGlobals } from '../../src/obj/object-globals.js';
import { CATALOG_DIR } from '../../src/paths.js';

/** A value for every parameter of every entry: what the test sets. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  execsnoop: { pid: 1234 },
  opensnoop: { pid: 1234, failed_only: true },
  tcpstates: { port: 8080 },
  tcplife: { pid: 1234, port: 8080, family: 'AF_INET6' },
  tcpconnect: { pid: 1234, port: 8080, min_latency_us: 1000, hook: 'kprobe' },
  exitsnoop: { pid: 1234, failed_only: true, threads: true },
  sigsnoop: { pid: 1234, signal: 'SIGUSR1', failed_only: true },
  oomkill: { hook: 'kprobe' },
  syscount: { pid: 1234 },
  syscall_latency: { pid: 1234 },
  runqlat: { pid: 1234, per_process: true },
  biolatency: { disk: '8:1', per_disk: true, queued: true },
  biosnoop: { disk: '8:1', pid: 1234, min_latency_us: 1000, queued: true },
  profile: { pid: 1234, frequency: 99, kernel_only: true, user_only: true, include_idle: true },
  offcputime: { pid: 1234, min_block_us: 1000, max_block_us: 1_000_000, kernel_only: true },
};

/** The names of the object's maps (the vars of its .maps section). */
function mapNames(btf: NonNullable<ReturnType<typeof objectGlobals>['btf']>): string[] {
  return btf.types.flatMap((t) => (t.kind === 'datasec' && t.name === '.maps' ? t.vars.map((v) => btf.type(v.type).name ?? '') : []));
}

/** Every object file of an entry: its own, and its variants'. */
const objectsOf = (e: CatalogEntry): string[] => [...new Set([e.object, ...Object.values(e.variants ?? {}).map((v) => v.object)])];

test('names are the libbpf-tools ones, one entry per built object', () => {
  assert.deepEqual(CATALOG.map((e) => e.name), Object.keys(SAMPLES));
  const objects = (CATALOG as readonly CatalogEntry[]).flatMap(objectsOf);
  assert.equal(new Set(objects).size, objects.length);
});

test('hook chooses a variant\'s object: the default\'s is the entry\'s own; an entry without variants takes no hook', () => {
  for (const e of CATALOG as readonly CatalogEntry[]) {
    if (!e.variants) {
      assert.ok(!('hook' in e.parameters.shape), e.name);
      continue;
    }
    assert.equal(e.variants[DEFAULT_HOOK].object, e.object, e.name);
    assert.equal(objectOf(e, e.parameters.parse({})), e.object);
    for (const [hook, v] of Object.entries(e.variants)) assert.equal(objectOf(e, e.parameters.parse({ hook })), v.object);
    assert.equal(e.parameters.safeParse({ hook: 'fentry' }).success, false);
  }
  assert.equal(objectOf(catalogEntry('tcpconnect')!, { hook: 'kprobe' }), 'tcp_connects_kprobe.bpf.o');
});

for (const e of CATALOG as readonly CatalogEntry[]) for (const object of objectsOf(e)) {
  test(`${e.name}: ${object} exists, its parameters set its const volatile globals, and ${JSON.stringify(e.read)} names its map`, () => {
    const elf = readFileSync(join(CATALOG_DIR, object));
    const { btf, globals } = objectGlobals(elf);
    assert.ok(btf, `${object} has no BTF`);
    const rodata = Uint8Array.from(elfSection(elf, '.rodata') ?? []);
    const params = globals.filter((g) => g.section === '.rodata' && g.constVolatile);
    const sample = SAMPLES[e.name] ?? {};
    assert.deepEqual(Object.keys(sample).sort(), Object.keys(e.parameters.shape).sort(), 'the samples cover every parameter');
    // Each parameter alone sets exactly one global, which exists and takes the value; a sampling frequency sets the attachment's instead, a hook the object.
    for (const [name, value] of Object.entries(sample)) {
      const parsed = e.parameters.parse({ [name]: value });
      const set = e.globals(parsed);
      if (name === 'frequency' && e.frequency) {
        assert.deepEqual(set, {}, 'the frequency is an attach setting, not a global');
        assert.equal(e.frequency(parsed), value);
        continue;
      }
      if (name === 'hook' && e.variants) {
        assert.deepEqual(set, {}, 'the hook chooses the object, it sets no global');
        continue;
      }
      assert.equal(Object.keys(set).length, 1, `${name} sets ${JSON.stringify(set)}`);
      for (const [global, v] of Object.entries(set)) {
        const p = params.find((g) => g.name === global);
        assert.ok(p, `${name} sets ${global}, not a const volatile global of ${object} (${params.map((g) => g.name).join(', ')})`);
        encodeValue(btf, p.typeId, v, rodata, p.offset);
      }
    }
    assert.deepEqual(e.globals(e.parameters.parse({})), {}, 'no parameter given sets nothing');
    const maps = mapNames(btf);
    const map = 'buffer' in e.read ? e.read.buffer : e.read.map;
    assert.ok(maps.includes(map), `${object} has no map ${map} (${maps.join(', ')})`);
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
  const snoop = catalogEntry('biosnoop')!;
  assert.equal(snoop.parameters.shape.disk, bio.parameters.shape.disk, 'one disk parameter for both');
  assert.deepEqual(snoop.globals(snoop.parameters.parse({ disk: '7:3', pid: 42 })), { target_dev: (7 << 20) | 3, target_tgid: 42 });
  assert.equal(catalogEntry('execsnoop')!.parameters.safeParse({ pid: 1, x: 1 }).success, false);
});
