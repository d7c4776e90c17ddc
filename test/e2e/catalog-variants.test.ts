/**
 * Catalog entries with a kprobe variant (tcpconnect, oomkill): their manifests
 * list both variants, tracepoint the default, and say whether kprobes attach
 * on this host; hook "kprobe" loads the kprobe object, whose auto attach
 * where kprobes cannot attach is UNSUPPORTED_BPF_FEATURE with the tracepoint
 * variant's load_program arguments, which load and attach. The kprobe
 * variants' positive cases run where the kprobe PMU exists.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect as tcpConnect, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { streamsDuring } from '../helpers/catalog.js';
import { gatedOn } from '../helpers/features.js';
import { memoryCgroup, pausedWorkload } from '../helpers/kernel.js';

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** A resource's JSON. */
async function resource(uri: string): Promise<any> {
  const r = await c.client.readResource({ uri });
  return JSON.parse((r.contents[0] as { text: string }).text);
}

/** load_program of catalog entry `name` with `parameters`, asserting it loaded. */
async function loadEntry(name: string, parameters: Record<string, unknown>): Promise<Record<string, any>> {
  const loaded = (await c.call('load_program', { source: { type: 'catalog', name, parameters } })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  return loaded;
}

/** attach_program {object_id, auto} of a loaded object: its structuredContent. */
const attachAll = async (loaded: Record<string, any>) => (await c.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } })).structuredContent;

const ENTRIES = [
  { name: 'tcpconnect', objects: ['tcp_connects.bpf.o', 'tcp_connects_kprobe.bpf.o'], sections: ['kprobe/tcp_v4_connect', 'kretprobe/tcp_v4_connect', 'kprobe/tcp_v6_connect', 'kretprobe/tcp_v6_connect'], parameters: { port: 9 } },
  { name: 'oomkill', objects: ['oom_kills.bpf.o', 'oom_kills_kprobe.bpf.o'], sections: ['kprobe/oom_kill_process', 'kretprobe/oom_kill_process', 'tp/oom/mark_victim'], parameters: {} },
];

test('the manifests of tcpconnect and oomkill list a tracepoint variant (the default) and a kprobe one, which needs the kprobe PMU, and whether it attaches here', async () => {
  const kprobes = (await c.call('info')).structuredContent.attach_kinds.find((k: { kind: string }) => k.kind === 'kprobe');
  for (const { name, objects } of ENTRIES) {
    const m = await resource(`ebpf://catalog/${name}`);
    assert.equal(m.object, objects[0]);
    assert.deepEqual(m.variants.map((v: Record<string, unknown>) => [v.hook, v.default, v.object]), [
      ['tracepoint', true, objects[0]],
      ['kprobe', false, objects[1]],
    ]);
    const [tp, kp] = m.variants;
    assert.equal(tp.available_here, true);
    assert.equal(tp.needs, undefined);
    assert.match(kp.needs, /kprobe PMU/);
    assert.match(kp.hooks, /kprobe/);
    assert.ok(kp.gives.length > 20);
    assert.deepEqual([kp.available_here, kp.reason], [kprobes.usable, kprobes.reason], 'as info says of kprobes on this host');
    if (!kprobes.usable) assert.match(kp.reason, /no kprobe PMU/);
    assert.deepEqual(m.parameters.properties.hook.enum, ['tracepoint', 'kprobe']);
    const s = (await c.call('inspect_state', { fields: ['catalog'] })).structuredContent;
    assert.deepEqual(s.catalog.find((e: { name: string }) => e.name === name), m);
  }
  const plain = await resource('ebpf://catalog/execsnoop');
  assert.equal(plain.variants, undefined);
  assert.equal(plain.parameters.properties.hook, undefined);
});

test('hook "kprobe" loads the kprobe object; where kprobes cannot attach, auto attach is UNSUPPORTED_BPF_FEATURE with load_instead, whose arguments load and attach', async (t) => {
  const kprobes = (await c.call('info')).structuredContent.attach_kinds.find((k: { kind: string }) => k.kind === 'kprobe');
  for (const { name, sections, parameters } of ENTRIES) {
    const loaded = await loadEntry(name, { ...parameters, hook: 'kprobe' });
    assert.deepEqual(loaded.programs.map((p: { section: string }) => p.section).sort(), [...sections].sort());
    assert.ok(loaded.programs.every((p: { loaded: boolean }) => p.loaded));
    assert.equal(loaded.catalog.name, name);
    const bad = await c.call('load_program', { source: { type: 'catalog', name, parameters: { hook: 'fentry' } } });
    assert.equal(bad.structuredContent.error.type, 'VALIDATION_ERROR');
    assert.equal(bad.structuredContent.error.context.field, 'source.parameters.hook');
    if (kprobes.usable) continue;
    const refused = await attachAll(loaded);
    assert.equal(refused.success, false);
    const e = refused.error;
    assert.equal(e.type, 'UNSUPPORTED_BPF_FEATURE', JSON.stringify(e));
    assert.equal(e.context.feature, 'kprobe');
    assert.match(e.message, /load_instead/);
    assert.deepEqual(e.context.load_instead, { source: { type: 'catalog', name, parameters: { ...parameters, hook: 'tracepoint' } } });
    const instead = (await c.call('load_program', e.context.load_instead)).structuredContent;
    assert.equal(instead.success, true, JSON.stringify(instead.error));
    assert.ok(instead.programs.every((p: { section: string }) => !p.section.includes('kprobe')), JSON.stringify(instead.programs));
    const attached = await attachAll(instead);
    assert.equal(attached.success, true, JSON.stringify(attached.error));
  }
  if (kprobes.usable) t.skip('kprobes attach here, so there is no refusal to check (the kprobe variants attach in the tests below)');
});

test('tcpconnect with hook "kprobe": a loopback connect seen at its call, with this process, the port and ret 0', async (t) => {
  const server = createServer((sock) => sock.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const loaded = await loadEntry('tcpconnect', { port, pid: process.pid, hook: 'kprobe' });
    await gatedOn(
      t,
      'kprobe',
      async () => {
        const attached = await attachAll(loaded);
        assert.equal(attached.success, true, JSON.stringify(attached.error));
        let localPort: number | undefined;
        const [s] = await streamsDuring(c, [loaded], async () => {
          const sock = tcpConnect(port, '127.0.0.1');
          await once(sock, 'connect');
          localPort = sock.localPort;
          sock.end();
          await once(sock, 'close');
        });
        assert.equal(s.decoded_type, 'struct tcp_connect_event');
        const events = s.events.map((e: { data: Record<string, any> }) => e.data);
        assert.equal(events.length, 1, JSON.stringify(events));
        const [e] = events;
        assert.deepEqual(
          [e.pid, e.comm, e.result, e.ret, e.error, e.family, e.saddr, e.daddr, e.sport, e.dport],
          [process.pid, 'node', 'CONNECT_SENT', 0, 0, 'AF_INET', '127.0.0.1', '127.0.0.1', localPort, port],
        );
      },
      async () => {
        const refused = await attachAll(loaded);
        assert.equal(refused.error.type, 'UNSUPPORTED_BPF_FEATURE');
      },
    );
  } finally {
    server.close();
  }
});

test("oomkill with hook \"kprobe\": a process over its memory cgroup's limit is killed, in the memcg domain of that limit", async (t) => {
  const loaded = await loadEntry('oomkill', { hook: 'kprobe' });
  await gatedOn(
    t,
    'kprobe',
    async () => {
      const attached = await attachAll(loaded);
      assert.equal(attached.success, true, JSON.stringify(attached.error));
      const limitMib = 32;
      const cg = memoryCgroup('oom-kprobe', limitMib << 20);
      if ('skip' in cg) {
        t.skip(cg.skip);
        return;
      }
      try {
        const w = await pausedWorkload(['--cgroup', cg.path, 'alloc-mb', String(8 * limitMib)]);
        const pending = c.call('stream_events', { source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 5000, max_events: 1, filters: { pid: w.pid } });
        await new Promise((r) => setTimeout(r, 250));
        await w.go();
        const s = (await pending).structuredContent;
        assert.equal(s.success, true, JSON.stringify(s.error));
        assert.equal(s.events.length, 1, JSON.stringify(s.events));
        const e = s.events[0].data;
        assert.deepEqual([e.pid, e.trigger_pid, e.domain, e.domain_kb], [w.pid, w.pid, 'OOM_DOMAIN_MEMCG', limitMib * 1024]);
      } finally {
        cg.cleanup();
      }
    },
    async () => {
      const refused = await attachAll(loaded);
      assert.equal(refused.error.type, 'UNSUPPORTED_BPF_FEATURE');
    },
  );
});
