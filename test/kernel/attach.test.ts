import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { ToolError } from '../../src/errors.js';
import { type Attachment, attachProgram, describedLink } from '../../src/hooks/index.js';
import { onlineCpus } from '../../src/kernel/cpus.js';
import { ensureMounts, mountPointOf } from '../../src/kernel/host.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { attachError } from '../../src/tools/wire-error.js';
import { bpftoolIds } from '../helpers/bpftool.js';
import { gatedOn } from '../helpers/features.js';
import { fixture } from '../helpers/fixtures.js';
import { WORKLOAD, mapValue, pausedWorkload, runWorkload, scratchCgroup, sendFromNamespace, vethPair } from '../helpers/kernel.js';

before(() => ensureMounts());

/** Loads one program of the counters fixture, attaches it, runs `body`, and releases everything. */
async function withAttached(program: string, spec: Attachment, body: (maps: Map<string, number>, linkIds: (number | null)[]) => Promise<void> | void): Promise<void> {
  const obj = BpfObject.open(readFileSync(fixture('counters')), 'counters');
  const links: { destroy(): void }[] = [];
  try {
    obj.load({ programs: [program] });
    const spec0 = obj.programs().find((p) => p.name === program);
    assert.ok(spec0);
    let attached: ReturnType<typeof attachProgram>;
    try {
      attached = attachProgram({ object: obj, program: spec0 }, spec);
    } catch (e) {
      throw attachError(e, Object.keys(spec)[0] as string);
    }
    links.push(...attached.links);
    const maps = new Map(obj.maps().map((m) => [m.name, native.mapInfo(m.fd).id]));
    await body(maps, attached.links.map((l) => l.id));
  } finally {
    for (const l of links) l.destroy();
    obj.close();
  }
}

test('tracepoint: 200 getpid syscalls count exactly 200 for the workload, and the link is a kernel link', async () => {
  await withAttached('tp_getpid', { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } }, (maps, [linkId]) => {
    assert.ok(linkId && bpftoolIds('link').has(linkId));
    assert.equal(describedLink(linkId)?.target, 'tracepoint/sys_enter_getpid');
    const pid = runWorkload(['getpid', '200']);
    assert.equal(mapValue(maps.get('tp_counts') as number, pid), 200);
  });
});

test('raw_tracepoint: sys_enter filtered to getpid counts exactly 200', async () => {
  await withAttached('raw_getpid', { raw_tracepoint: { name: 'sys_enter' } }, (maps, [linkId]) => {
    assert.equal(describedLink(linkId as number)?.target, 'raw_tracepoint/sys_enter');
    const pid = runWorkload(['getpid', '200']);
    assert.equal(mapValue(maps.get('raw_counts') as number, pid), 200);
  });
});

test('auto: a program attaches as its section says', async () => {
  await withAttached('tp_getpid', { auto: {} }, (maps) => {
    const pid = runWorkload(['getpid', '50']);
    assert.equal(mapValue(maps.get('tp_counts') as number, pid), 50);
  });
});

test('uprobe: a function of a binary, by name, for one pid, counts exactly its 200 calls', async () => {
  const w = await pausedWorkload(['call', '200']);
  const other = await pausedWorkload(['call', '30']);
  await withAttached('uprobe_hit', { uprobe: { binary: WORKLOAD, function: 'ebpf_mcp_probe_target', offset: 0, pid: w.pid, retprobe: false } }, async (maps, [linkId]) => {
    assert.match(describedLink(linkId as number)?.target ?? '', /^uprobe\/.*workload\+0x[0-9a-f]+$/);
    await w.go();
    await other.go();
    assert.equal(mapValue(maps.get('uprobe_counts') as number, w.pid), 200);
    assert.equal(mapValue(maps.get('uprobe_counts') as number, other.pid), undefined, 'the pid filter let another process through');
  });
});

test('usdt: a USDT probe compiled into the workload counts exactly 120 hits', async () => {
  const w = await pausedWorkload(['usdt', '120']);
  await withAttached('usdt_hit', { usdt: { binary: WORKLOAD, provider: 'ebpf_mcp', name: 'tick', pid: w.pid } }, async (maps) => {
    await w.go();
    assert.equal(mapValue(maps.get('usdt_counts') as number, w.pid), 120);
  });
});

test('perf_event: cpu-clock sampling at 1000 Hz on every CPU samples a spinning workload', async () => {
  await withAttached('perf_sample', { perf_event: { event: 'cpu-clock', frequency: 1000, cpu: 'all' } }, (maps, linkIds) => {
    assert.equal(linkIds.length, onlineCpus().length, 'one perf event link per online CPU');
    // Each a kernel link of a perf event: cpu-clock is config 0 (of the software PMU, which some kernels hand to a PMU of its own, of another type).
    for (const id of linkIds) assert.match(describedLink(id as number)?.target ?? `no link ${id}`, /^perf_event\/type \d+ config 0$/);
    const pid = runWorkload(['spin-ms', '400']);
    const samples = mapValue(maps.get('perf_counts') as number, pid) ?? 0;
    // 400 ms of CPU (the spin counts CPU time, not wall time) at 1000 Hz is about 400 samples.
    assert.ok(samples >= 40 && samples <= 800, `expected about 400 samples, got ${samples}`);
  });
});

test('xdp and tc: packets from a private namespace over veth are counted on the host side', async () => {
  const pair = vethPair('x');
  try {
    await withAttached('xdp_count', { xdp: { interface: pair.hostIf, mode: 'native' } }, (maps, [linkId]) => {
      assert.equal(describedLink(linkId as number)?.target, `xdp/${pair.hostIf}`);
      sendFromNamespace(pair, 20);
      const seen = mapValue(maps.get('net_counts') as number, 0) ?? 0;
      assert.ok(seen >= 20 && seen <= 24, `20 UDP packets plus ARP expected, got ${seen}`);
    });
    await withAttached('tc_count', { tc: { interface: pair.hostIf, direction: 'ingress', priority: 1 } }, (maps, [linkId]) => {
      assert.match(describedLink(linkId as number)?.target ?? '', new RegExp(`^tcx/${pair.hostIf} tcx_ingress$`));
      sendFromNamespace(pair, 15);
      const seen = mapValue(maps.get('net_counts') as number, 1) ?? 0;
      assert.ok(seen >= 15 && seen <= 19, `15 UDP packets plus ARP expected, got ${seen}`);
    });
  } finally {
    pair.cleanup();
  }
});

test('cgroup: cgroup_skb egress counts exactly the packets a process in the cgroup sends', async () => {
  const root = mountPointOf('cgroup2');
  assert.ok(root, 'cgroup2 is mounted');
  const cg = scratchCgroup(root, 'skb');
  try {
    await withAttached('cgroup_egress', { cgroup: { path: cg.path } }, (maps, [linkId]) => {
      assert.match(describedLink(linkId as number)?.target ?? '', /^cgroup\/id \d+ cgroup_inet_egress$/);
      runWorkload(['--cgroup', cg.path, 'udp', '50', '9']);
      assert.equal(mapValue(maps.get('net_counts') as number, 2), 50);
    });
  } finally {
    cg.cleanup();
  }
});

test('kprobe: exactly 100 hits where the kernel has kprobes; else UNSUPPORTED_BPF_FEATURE naming tracepoint alternatives', async (t) => {
  const spec = { kprobe: { function: '__x64_sys_getpid', offset: 0, retprobe: false } };
  await gatedOn(
    t,
    'kprobe',
    () =>
      withAttached('kprobe_hit', spec, (maps) => {
        const pid = runWorkload(['getpid', '100']);
        assert.equal(mapValue(maps.get('kprobe_counts') as number, pid), 100);
      }),
    () =>
      assert.rejects(
        withAttached('kprobe_hit', spec, () => {}),
        (e: unknown) => {
          assert.ok(e instanceof ToolError);
          assert.equal(e.type, 'UNSUPPORTED_BPF_FEATURE');
          assert.equal(e.context.feature, 'kprobe');
          const alternatives = e.context.alternatives as { kind: string; settings: { category: string; name: string } }[];
          assert.ok(
            alternatives.some((a) => a.kind === 'tracepoint' && a.settings.category === 'syscalls' && a.settings.name === 'sys_enter_getpid'),
            JSON.stringify(alternatives),
          );
          return true;
        },
      ),
  );
});

test('wrong targets: each error says what exists instead', async () => {
  const cases: [string, Attachment, string, (c: Record<string, unknown>) => void][] = [
    ['tp_getpid', { tracepoint: { category: 'syscalls', name: 'sys_enter_getpidd' } }, 'ATTACHMENT_FAILED', (c) => assert.ok((c.suggestions as string[]).includes('syscalls:sys_enter_getpid'))],
    ['raw_getpid', { raw_tracepoint: { name: 'sys_entr' } }, 'ATTACHMENT_FAILED', (c) => assert.ok((c.suggestions as string[]).includes('sys_enter'))],
    ['xdp_count', { xdp: { interface: 'nosuch0', mode: 'native' } }, 'ATTACHMENT_FAILED', (c) => assert.ok((c.suggestions as string[]).includes('lo'))],
    ['uprobe_hit', { uprobe: { binary: WORKLOAD, function: 'ebpf_mcp_probe_targt', offset: 0, retprobe: false } }, 'ATTACHMENT_FAILED', (c) => assert.ok((c.suggestions as string[]).includes('ebpf_mcp_probe_target'))],
    ['uprobe_hit', { uprobe: { binary: '/etc/hostname', function: 'main', offset: 0, retprobe: false } }, 'VALIDATION_ERROR', (c) => assert.equal(c.field, 'attachment.uprobe.binary')],
    ['cgroup_egress', { cgroup: { path: '/tmp' } }, 'VALIDATION_ERROR', (c) => assert.equal(c.field, 'attachment.cgroup.path')],
    ['cgroup_egress', { cgroup: { path: '../../etc' } }, 'VALIDATION_ERROR', (c) => assert.equal(c.field, 'attachment.cgroup.path')],
    ['tp_getpid', { xdp: { interface: 'lo', mode: 'native' } }, 'VALIDATION_ERROR', (c) => assert.deepEqual(c.fits, ['xdp'])],
  ];
  for (const [program, spec, type, check] of cases) {
    await assert.rejects(
      withAttached(program, spec, () => {}),
      (e: unknown) => {
        assert.ok(e instanceof ToolError, String(e));
        assert.equal(e.type, type, `${Object.keys(spec)[0]}: ${e.message}`);
        check(e.context);
        return true;
      },
    );
  }
});
