/**
 * The attach kinds of issue 8 through a real MCP client, each against this
 * kernel with exact counts scoped to what the test made (its network
 * namespace, cgroup, port or pid), each released on disconnect with bpftool
 * as the witness; kinds the kernel refuses get the typed refusal.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { mountPointOf } from '../../src/kernel/host.js';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { gatedOn } from '../helpers/features.js';
import { fixture } from '../helpers/fixtures.js';
import { mapValue, pausedWorkload, runWorkload, scratchCgroup, scratchNetns, workloadReport } from '../helpers/kernel.js';

interface Loaded {
  /** Kernel program ids by name. */
  progs: Record<string, number>;
  /** Kernel map ids by name. */
  maps: Record<string, number>;
}

/** Loads `programs` of a fixture through the client. */
async function load(c: Connected, name: string, programs: string[]): Promise<Loaded> {
  const s = (await c.call('load_program', { source: { type: 'file', path: fixture(name) }, programs })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  const byName = (list: { name: string; id: number }[]) => Object.fromEntries(list.map((x) => [x.name, x.id]));
  return { progs: byName(s.programs), maps: byName(s.maps) };
}

/** Attaches a program and returns the result, which must be a success with a kernel link. */
async function attach(c: Connected, programId: number | undefined, attachment: Record<string, unknown>): Promise<Record<string, any>> {
  const s = (await c.call('attach_program', { program_id: programId, attachment })).structuredContent;
  assert.equal(s.success, true, `${JSON.stringify(attachment)}: ${JSON.stringify(s.error)}`);
  assert.equal(typeof s.link_id, 'number');
  assert.ok(bpftoolIds('link').has(s.link_id), `bpftool does not show link ${s.link_id}`);
  return s;
}

/** Calls attach_program expecting a typed error of `type` (on `field`, when given); returns the error. */
async function refused(c: Connected, programId: number | undefined, attachment: Record<string, unknown>, type: string, field?: string): Promise<Record<string, any>> {
  const r = await c.call('attach_program', { program_id: programId, attachment });
  const what = JSON.stringify(attachment);
  assert.equal(r.isError, true, `${what}: expected an error, got ${JSON.stringify(r.structuredContent)}`);
  const e = r.structuredContent.error;
  assert.equal(e.type, type, `${what}: ${JSON.stringify(e)}`);
  if (field !== undefined) assert.equal(e.context.field, field, `${what}: ${JSON.stringify(e)}`);
  return e;
}

/** Closes the client and checks that its links and programs are gone from the kernel within a second. */
async function closeAndCheckReleased(c: Connected, linkIds: number[], progIds: number[]): Promise<void> {
  await c.close();
  const gone = (kind: 'link' | 'prog', ids: number[]) => () => {
    const now = bpftoolIds(kind);
    return ids.every((id) => !now.has(id));
  };
  assert.ok(await eventually(gone('link', linkIds), 1000), `links ${linkIds} outlived the client`);
  assert.ok(await eventually(gone('prog', progIds), 1000), `programs ${progIds} outlived the client`);
}

/** What inspect_state says the session's links are attached to, by link id. */
async function linkTargets(c: Connected): Promise<Record<number, string>> {
  const s = (await c.call('inspect_state', { fields: ['links'], filters: { owned_only: true } })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return Object.fromEntries((s.links as { id: number; target: string }[]).map((l) => [l.id, l.target]));
}

const inNetns = (ns: string) => ['ip', 'netns', 'exec', ns];

function cgroupRoot(): string {
  const root = mountPointOf('cgroup2');
  assert.ok(root, 'cgroup2 is mounted');
  return root;
}

test("info lists the new attach kinds as usable on this kernel, with the program types they take", async () => {
  const c = await connect();
  try {
    const s = (await c.call('info', {})).structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    const kinds = Object.fromEntries((s.attach_kinds as { kind: string; usable: boolean; program_types: string[] }[]).map((k) => [k.kind, k]));
    const want: Record<string, string[]> = {
      netfilter: ['netfilter'],
      sk_lookup: ['sk_lookup'],
      flow_dissector: ['flow_dissector'],
      sockops: ['sock_ops'],
      sk_msg: ['sk_msg'],
      sk_skb: ['sk_skb'],
      iter: ['tracing'],
    };
    for (const [kind, types] of Object.entries(want)) {
      assert.equal(kinds[kind]?.usable, true, `${kind}: ${JSON.stringify(kinds[kind])}`);
      assert.deepEqual(kinds[kind]?.program_types, types, kind);
    }
  } finally {
    await c.close();
  }
});

test('netfilter: hooks in the server\'s own network namespace count exactly the UDP packets sent there, IPv4 and IPv6', async () => {
  const net = scratchNetns('nf');
  try {
    const c = await connect(['-t', 'stdio'], { netns: net.ns });
    const links: number[] = [];
    let loaded: Loaded = { progs: {}, maps: {} };
    try {
      loaded = await load(c, 'net_hooks', ['nf_count_udp']);
      const prog = loaded.progs.nf_count_udp;
      const v4 = await attach(c, prog, { netfilter: { family: 'ipv4', hook: 'local_out', priority: -100 } });
      const v6 = await attach(c, prog, { netfilter: { family: 'ipv6', hook: 'local_in', priority: 100, defrag: true } });
      links.push(v4.link_id, v6.link_id);
      assert.equal(v4.attachment_point, 'netfilter/ipv4 local_out priority -100');
      assert.equal(v6.attachment_point, 'netfilter/ipv6 local_in priority 100 defrag');
      assert.deepEqual(await linkTargets(c), { [v4.link_id]: v4.attachment_point, [v6.link_id]: v6.attachment_point });

      runWorkload(['udp', '40', '4601', '127.0.0.1'], inNetns(net.ns));
      runWorkload(['udp', '25', '4602', '::1'], inNetns(net.ns));
      runWorkload(['udp', '7', '4603', '127.0.0.1']);
      const nf = loaded.maps.nf_udp as number;
      assert.equal(mapValue(nf, 4601), 40, 'IPv4 local_out');
      assert.equal(mapValue(nf, 4602), 25, 'IPv6 local_in');
      assert.equal(mapValue(nf, 4603), undefined, "the host's namespace is not hooked");

      await refused(c, prog, { netfilter: { family: 'ipv4', hook: 'local_out', priority: -2147483648 } }, 'VALIDATION_ERROR', 'attachment.netfilter.priority');
      await refused(c, prog, { netfilter: { family: 'ipv4', hook: 'local_out', priority: 2147483647 } }, 'VALIDATION_ERROR', 'attachment.netfilter.priority');
      await refused(c, prog, { netfilter: { family: 'ipv4', hook: 'input', priority: 0 } }, 'VALIDATION_ERROR', 'attachment.netfilter.hook');
      await refused(c, prog, { netfilter: { family: 'arp', hook: 'local_in', priority: 0 } }, 'VALIDATION_ERROR', 'attachment.netfilter.family');
      await refused(c, loaded.progs.nf_count_udp, { sk_lookup: { netns: net.ns } }, 'VALIDATION_ERROR', 'attachment.sk_lookup');
    } finally {
      await closeAndCheckReleased(c, links, Object.values(loaded.progs));
    }
  } finally {
    net.cleanup();
  }
});

test('sk_lookup: a namespace\'s lookups for one port are dropped and counted exactly; connects succeed again after detach', async () => {
  const net = scratchNetns('skl');
  const link = `/run/netns/emcp-symlink-${process.pid}`;
  const c = await connect(['-t', 'stdio', '--enable-tools', 'detach_link']);
  const links: number[] = [];
  let loaded: Loaded = { progs: {}, maps: {} };
  try {
    loaded = await load(c, 'net_hooks', ['lookup_drop_port']);
    const prog = loaded.progs.lookup_drop_port;
    const a = await attach(c, prog, { sk_lookup: { netns: net.ns } });
    links.push(a.link_id);
    assert.equal(a.attachment_point, `sk_lookup/netns ${net.ns}`);
    assert.deepEqual(await linkTargets(c), { [a.link_id]: `sk_lookup/netns ${net.ns}` });

    // The fixture drops port 40123 (its const volatile default: load_program cannot set .rodata).
    const dropped = workloadReport(['tcp', '6', '40123'], inNetns(net.ns)).report;
    assert.deepEqual(dropped, { port: 40123, connected: 0, refused: 6 });
    assert.equal(mapValue(loaded.maps.hook_counts as number, 0), 6);
    const other = workloadReport(['tcp', '4', '40124'], inNetns(net.ns)).report;
    assert.deepEqual(other, { port: 40124, connected: 4, refused: 0 }, 'another port is not dropped');
    const host = workloadReport(['tcp', '3', '0']).report;
    assert.equal(host.connected, 3, "the host's namespace is not hooked");

    const d = (await c.call('detach_link', { link_id: a.link_id })).structuredContent;
    assert.equal(d.success, true, JSON.stringify(d.error));
    assert.deepEqual(workloadReport(['tcp', '6', '40123'], inNetns(net.ns)).report, { port: 40123, connected: 6, refused: 0 });
    assert.equal(mapValue(loaded.maps.hook_counts as number, 0), 6, 'nothing counted after detach');

    const again = await attach(c, prog, { sk_lookup: { netns: `/run/netns/${net.ns}` } });
    links.push(again.link_id);
    assert.equal(workloadReport(['tcp', '2', '40123'], inNetns(net.ns)).report.refused, 2, 'attached by absolute path');

    const missing = await refused(c, prog, { sk_lookup: { netns: 'emcp-no-such-netns' } }, 'ATTACHMENT_FAILED');
    assert.equal(missing.context.target_kind, 'netns');
    assert.ok((missing.context.suggestions as string[]).includes(net.ns), JSON.stringify(missing.context));
    await refused(c, prog, { sk_lookup: { netns: '/etc/passwd' } }, 'VALIDATION_ERROR', 'attachment.sk_lookup.netns');
    await refused(c, prog, { sk_lookup: { netns: '../../etc/passwd' } }, 'VALIDATION_ERROR', 'attachment.sk_lookup.netns');
    await refused(c, prog, { sk_lookup: { netns: '/proc/self/ns/mnt' } }, 'VALIDATION_ERROR', 'attachment.sk_lookup.netns');
    symlinkSync('/proc/self/ns/net', link);
    await refused(c, prog, { sk_lookup: { netns: basename(link) } }, 'VALIDATION_ERROR', 'attachment.sk_lookup.netns');
  } finally {
    rmSync(link, { force: true });
    await closeAndCheckReleased(c, links, Object.values(loaded.progs));
    net.cleanup();
  }
});

test('sk_lookup on /proc/<pid>/ns/net: the namespace of a process the test started', async () => {
  const net = scratchNetns('skp');
  const holder = spawn('ip', [...inNetns(net.ns).slice(1), 'sleep', '30'], { stdio: 'ignore' });
  const c = await connect();
  const links: number[] = [];
  let loaded: Loaded = { progs: {}, maps: {} };
  try {
    assert.ok(holder.pid);
    const nsOf = (pid: number | string) => execFileSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).trim();
    const want = execFileSync('ip', [...inNetns(net.ns).slice(1), 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
    assert.ok(await eventually(() => nsOf(holder.pid as number) === want, 2000), 'the holder entered the namespace');
    loaded = await load(c, 'net_hooks', ['lookup_drop_port']);
    const a = await attach(c, loaded.progs.lookup_drop_port, { sk_lookup: { netns: `/proc/${holder.pid}/ns/net` } });
    links.push(a.link_id);
    assert.deepEqual(workloadReport(['tcp', '5', '40123'], inNetns(net.ns)).report, { port: 40123, connected: 0, refused: 5 });
    assert.equal(mapValue(loaded.maps.hook_counts as number, 0), 5);
  } finally {
    holder.kill();
    await closeAndCheckReleased(c, links, Object.values(loaded.progs));
    net.cleanup();
  }
});

test('flow_dissector: with RPS on lo, the kernel dissects each received packet once; the program counts exactly the UDP packets to its port', async () => {
  const net = scratchNetns('fd');
  const c = await connect();
  const links: number[] = [];
  let loaded: Loaded = { progs: {}, maps: {} };
  try {
    // RPS makes the receive path hash (and so dissect) every packet: this kernel has no hashing qdisc (no fq_codel, sfq).
    execFileSync('ip', [...inNetns(net.ns).slice(1), 'sh', '-c', 'echo 3 > /sys/class/net/lo/queues/rx-0/rps_cpus']);
    loaded = await load(c, 'net_hooks', ['dissect_count_udp']);
    const a = await attach(c, loaded.progs.dissect_count_udp, { flow_dissector: { netns: net.ns } });
    links.push(a.link_id);
    assert.equal(a.attachment_point, `flow_dissector/netns ${net.ns}`);
    assert.deepEqual(await linkTargets(c), { [a.link_id]: `flow_dissector/netns ${net.ns}` });
    runWorkload(['udp', '37', '4701', '127.0.0.1'], inNetns(net.ns));
    runWorkload(['udp', '5', '4702', '127.0.0.1']);
    const counts = loaded.maps.dissect_udp as number;
    assert.equal(mapValue(counts, 4701), 37);
    assert.equal(mapValue(counts, 4702), undefined, "the host's namespace is not hooked");
    // The program returns BPF_FLOW_DISSECTOR_CONTINUE, so the kernel's dissector goes on and delivery is normal.
    assert.equal(workloadReport(['tcp', '3', '0'], inNetns(net.ns)).report.connected, 3);
    const e = await refused(c, loaded.progs.dissect_count_udp, { flow_dissector: { netns: net.ns } }, 'ATTACHMENT_FAILED');
    assert.equal(e.context.errno_name, 'E2BIG', `one flow dissector per namespace: ${JSON.stringify(e)}`);
  } finally {
    await closeAndCheckReleased(c, links, Object.values(loaded.progs));
    net.cleanup();
  }
});

test('sockops: on a cgroup, counts exactly the TCP connections a process in it establishes', async () => {
  const root = cgroupRoot();
  const cg = scratchCgroup(root, 'sockops');
  const c = await connect();
  const links: number[] = [];
  let loaded: Loaded = { progs: {}, maps: {} };
  try {
    loaded = await load(c, 'net_hooks', ['sockops_count_active']);
    const rel = cg.path.slice(root.length + 1);
    const a = await attach(c, loaded.progs.sockops_count_active, { sockops: { cgroup: rel } });
    links.push(a.link_id);
    assert.equal(a.attachment_point, `sockops/${cg.path}`);
    assert.match((await linkTargets(c))[a.link_id] ?? '', /^sockops\/cgroup id \d+$/);
    assert.equal(workloadReport(['--cgroup', cg.path, 'tcp', '9', '0']).report.connected, 9);
    workloadReport(['tcp', '4', '0']);
    assert.equal(mapValue(loaded.maps.hook_counts as number, 1), 9);

    const missing = await refused(c, loaded.progs.sockops_count_active, { sockops: { cgroup: 'ebpf-mcp-no-such-cgroup' } }, 'VALIDATION_ERROR', 'attachment.sockops.cgroup');
    assert.match(missing.message, /no cgroup/);
    await refused(c, loaded.progs.sockops_count_active, { sockops: { cgroup: '/etc' } }, 'VALIDATION_ERROR', 'attachment.sockops.cgroup');
  } finally {
    await closeAndCheckReleased(c, links, Object.values(loaded.progs));
    cg.cleanup();
  }
});

for (const [verdict, attachType, slot] of [
  ['skb_stream_verdict', 'stream_verdict', 1],
  ['skb_verdict', 'verdict', 2],
] as const) {
  test(`sk_msg and sk_skb ${attachType} on a sockhash: exactly M sendmsg calls and B bytes of the cgroup's connections`, async () => {
    const root = cgroupRoot();
    const cg = scratchCgroup(root, `skmsg-${slot}`);
    const c = await connect();
    const links: number[] = [];
    let loaded: Loaded = { progs: {}, maps: {} };
    try {
      loaded = await load(c, 'sockmap', ['sockops_add', 'msg_count', verdict]);
      const socks = loaded.maps.socks as number;
      links.push((await attach(c, loaded.progs.sockops_add, { sockops: { cgroup: cg.path } })).link_id);
      const msg = await attach(c, loaded.progs.msg_count, { sk_msg: { map: 'socks' } });
      links.push(msg.link_id);
      assert.equal(msg.attachment_point, `sk_msg/map ${socks} (socks)`);
      // By kernel id this time: a map this session loaded.
      const skb = await attach(c, loaded.progs[verdict], { sk_skb: { map: socks, attach_type: attachType } });
      links.push(skb.link_id);
      assert.equal(skb.attachment_point, `sk_skb/map ${socks} (socks) ${attachType}`);
      const targets = await linkTargets(c);
      assert.equal(targets[msg.link_id], `sk_msg/map ${socks}`);
      assert.equal(targets[skb.link_id], `sk_skb/map ${socks} ${attachType}`);

      const r = workloadReport(['--cgroup', cg.path, 'tcp-send', '13', '100']).report;
      assert.deepEqual([r.sent, r.received], [1300, 1300]);
      workloadReport(['tcp-send', '5', '100']);
      const counts = loaded.maps.sockmap_counts as number;
      assert.equal(mapValue(counts, 3), 2, 'both ends of the one connection went into the sockhash');
      assert.equal(mapValue(counts, 0), 13, 'sendmsg calls');
      assert.equal(mapValue(counts, slot), 1300, 'bytes');
      assert.equal(mapValue(counts, 3 - slot), 0, 'the other verdict is not attached');

      const e = await refused(c, loaded.progs.msg_count, { sk_msg: { map: 'no_such_map' } }, 'VALIDATION_ERROR', 'attachment.sk_msg.map');
      assert.deepEqual(e.context.sockmaps, ['socks']);
      await refused(c, loaded.progs.msg_count, { sk_msg: { map: counts } }, 'VALIDATION_ERROR', 'attachment.sk_msg.map');
      await refused(c, loaded.progs.msg_count, { sk_msg: { map: 2147483000 } }, 'VALIDATION_ERROR', 'attachment.sk_msg.map');
      await refused(c, loaded.progs[verdict], { sk_skb: { map: 'socks', attach_type: 'reverse' } }, 'VALIDATION_ERROR', 'attachment.sk_skb.attach_type');
    } finally {
      await closeAndCheckReleased(c, links, Object.values(loaded.progs));
      cg.cleanup();
    }
  });
}

test('sk_skb stream_parser with stream_verdict: the parser frames 100-byte records, the verdict runs exactly once per record', async () => {
  const root = cgroupRoot();
  const cg = scratchCgroup(root, 'skparser');
  const c = await connect();
  const links: number[] = [];
  let loaded: Loaded = { progs: {}, maps: {} };
  try {
    loaded = await load(c, 'sockmap', ['sockops_add', 'skb_parser', 'skb_stream_verdict']);
    links.push((await attach(c, loaded.progs.sockops_add, { sockops: { cgroup: cg.path } })).link_id);
    const parser = await attach(c, loaded.progs.skb_parser, { sk_skb: { map: 'socks', attach_type: 'stream_parser' } });
    links.push(parser.link_id);
    assert.match(parser.attachment_point, / stream_parser$/);
    links.push((await attach(c, loaded.progs.skb_stream_verdict, { sk_skb: { map: 'socks', attach_type: 'stream_verdict' } })).link_id);
    // 50 records of the fixture's record_size, each read before the next is sent: with all sent at once, reads
    // on this kernel stall (EAGAIN) at some point once TCP coalesces records into skbs the parser holds.
    const r = workloadReport(['--cgroup', cg.path, 'tcp-lockstep', '50', '100']).report;
    assert.deepEqual([r.sent, r.received], [5000, 5000]);
    const counts = loaded.maps.sockmap_counts as number;
    assert.equal(mapValue(counts, 4), 50, 'stream verdict runs: one per record');
    assert.equal(mapValue(counts, 1), 5000, 'bytes the stream verdict saw');
  } finally {
    await closeAndCheckReleased(c, links, Object.values(loaded.progs));
    cg.cleanup();
  }
});

test('iter: task, bpf_map and bpf_prog iterators return their text, listing the test\'s process, map and program', async () => {
  const c = await connect();
  const w = await pausedWorkload(['getpid', '1']);
  const links: number[] = [];
  let loaded: Loaded = { progs: {}, maps: {} };
  let counters: Loaded = { progs: {}, maps: {} };
  try {
    loaded = await load(c, 'iters', ['iter_tasks', 'iter_maps', 'iter_progs']);
    counters = await load(c, 'counters', ['tp_getpid']);
    const run = async (prog: string) => {
      const s = await attach(c, loaded.progs[prog], { iter: {} });
      links.push(s.link_id);
      assert.equal(s.iterator.truncated, false);
      assert.equal(s.iterator.bytes, Buffer.byteLength(s.iterator.output));
      return (s.iterator.output as string).split('\n');
    };
    assert.ok((await run('iter_tasks')).includes(`${w.pid} workload`), 'the paused workload is listed with its comm');
    assert.equal((await linkTargets(c))[links[0] as number], 'iter/task');
    assert.ok((await run('iter_maps')).includes(`${counters.maps.tp_counts} tp_counts`), 'the map the test loaded is listed');
    assert.ok((await run('iter_progs')).includes(`${loaded.progs.iter_progs} iter_progs`), 'the iterator lists itself');

    const small = (await c.call('attach_program', { program_id: loaded.progs.iter_tasks, attachment: { iter: { max_bytes: 64 } } })).structuredContent;
    assert.equal(small.success, true, JSON.stringify(small.error));
    links.push(small.link_id);
    assert.equal(small.iterator.truncated, true);
    assert.ok(small.iterator.bytes <= 64, String(small.iterator.bytes));
    await refused(c, loaded.progs.iter_tasks, { iter: { task: 1 } }, 'VALIDATION_ERROR', 'attachment.iter');
    await refused(c, counters.progs.tp_getpid, { iter: {} }, 'VALIDATION_ERROR', 'attachment.iter');
  } finally {
    await w.go();
    await closeAndCheckReleased(c, links, [...Object.values(loaded.progs), ...Object.values(counters.progs)]);
  }
});

for (const [name, kind] of [
  ['fexit_vfs_read', 'fexit'],
  ['fmod_ret_file_open', 'fmod_ret'],
] as const) {
  test(`${kind}: load_program loads and attach_program attaches it where the kernel has trampolines, else UNSUPPORTED_BPF_FEATURE`, async (t) => {
    const c = await connect();
    try {
      const r = await c.call('load_program', { source: { type: 'file', path: fixture('tracing') }, programs: [name] });
      await gatedOn(
        t,
        kind,
        async () => {
          assert.equal(r.structuredContent.success, true, JSON.stringify(r.structuredContent.error));
          await attach(c, r.structuredContent.program_id, { [kind]: {} });
        },
        () => {
          const e = r.structuredContent.error;
          assert.equal(e?.type, 'UNSUPPORTED_BPF_FEATURE', JSON.stringify(r.structuredContent));
          assert.equal(e.context.program, name);
          assert.equal(e.context.section, kind === 'fexit' ? 'fexit/vfs_read' : 'fmod_ret/security_file_open');
          assert.match(e.context.kernel_requirement, /trampolines/);
          assert.ok(e.context.alternatives.some((a: { kind: string }) => a.kind === 'tp_btf'), JSON.stringify(e.context.alternatives));
        },
      );
    } finally {
      await c.close();
    }
  });
}
