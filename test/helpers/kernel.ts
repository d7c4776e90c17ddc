/**
 * What the kernel tests build and read: countable workloads, map values read
 * through bpftool (an independent witness), a veth pair into a private
 * network namespace, a scratch cgroup, and a loop device. Everything is torn down by the
 * returned cleanup, which tests call from `finally`.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** The countable workload (test/workload/workload.c). */
export const WORKLOAD = join(PACKAGE_ROOT, 'test', '.output', 'workload');

/** Runs the workload to completion; returns its pid. */
export function runWorkload(args: string[], prefix: string[] = []): number {
  return workloadReport(args, prefix).pid;
}

/** Runs the workload to completion; returns its pid and the "key value" pairs it reported (the TCP modes do). */
export function workloadReport(args: string[], prefix: string[] = []): { pid: number; report: Record<string, number> } {
  const [cmd, ...rest] = [...prefix, WORKLOAD, ...withWait(args)];
  const [pid, line = ''] = execFileSync(cmd as string, rest, { input: 'go\n', encoding: 'utf8' }).trim().split('\n');
  const words = line.split(' ').filter((w) => w.length > 0);
  const report: Record<string, number> = {};
  for (let k = 0; k + 1 < words.length; k += 2) report[words[k] as string] = Number(words[k + 1]);
  return { pid: Number(pid), report };
}

function withWait(args: string[]): string[] {
  const at = args[0] === '--cgroup' ? 2 : 0;
  return [...args.slice(0, at), '--wait', ...args.slice(at)];
}

/**
 * Starts the workload paused (after `prefix`, e.g. taskset): it has printed its pid and runs when `go()` is called,
 * which resolves when it has exited; or `start()` lets it run, and `kill()` ends it (SIGKILL) and waits for that.
 */
export async function pausedWorkload(
  args: string[],
  prefix: string[] = [],
): Promise<{ pid: number; go: () => Promise<void>; start: () => void; kill: () => Promise<void> }> {
  const [cmd, ...rest] = [...prefix, WORKLOAD, ...withWait(args)];
  const child = spawn(cmd as string, rest, { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid,
    go: async () => {
      child.stdin.end('go\n');
      await exited;
    },
    start: () => child.stdin.end('go\n'),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A shell that waits for a line on stdin, then runs `script`: its pid is known before it does anything traced. */
export async function waitingShell(script: string): Promise<{ sh: ChildProcessWithoutNullStreams; go: () => Promise<void> }> {
  const sh = spawn('/bin/sh', ['-c', `echo ready; read go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  await new Promise((r) => sh.stdout.once('data', r));
  const exited = new Promise((r) => sh.once('exit', r));
  return {
    sh,
    go: async () => {
      sh.stdin.end('go\n');
      await exited;
    },
  };
}

/** Runs the workload to its end, `n` getpids, its pid added first to a fixture's `targets` set so only it writes. */
export async function targetedGetpids(targets: number, n: number): Promise<number> {
  const w = await pausedWorkload(['getpid', String(n)]);
  addToSet(targets, w.pid);
  await w.go();
  return w.pid;
}

/** How many fds a process holds on the map with this id (an object's, a reader's), read from /proc/<pid>/fdinfo. */
export function mapFdsOf(pid: number | 'self', mapId: number): number {
  const held = new RegExp(`^map_id:\\s*${mapId}$`, 'm');
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return held.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    } catch {
      return false; // the fd closed while the directory was read
    }
  }).length;
}

/** A map entry's value, decoded by bpftool from the map's BTF (undefined when the key is absent). */
export function mapValue(mapId: number, key: number): number | undefined {
  const entries = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(mapId)], { encoding: 'utf8' })) as {
    formatted?: { key: number; value: number };
  }[];
  return entries.find((e) => e.formatted?.key === key)?.formatted?.value;
}

/** Adds `key` (a u32, e.g. a tgid) to a fixture's set, a hash map of u32 keys (little-endian here) and u8 values, through bpftool. */
export function addToSet(mapId: number, key: number): void {
  const bytes = Array.from({ length: 4 }, (_, i) => String((key >>> (8 * i)) & 0xff));
  execFileSync('bpftool', ['map', 'update', 'id', String(mapId), 'key', ...bytes, 'value', '1']);
}

/** A veth pair: `hostIf` in this namespace, `nsIf` in a private namespace, IPv4 link-local addresses. */
export interface VethPair {
  ns: string;
  hostIf: string;
  nsIf: string;
  hostAddr: string;
  nsAddr: string;
  cleanup(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/** Creates a veth pair into a new network namespace (IPv6 off, so only the test's packets flow); by default 169.254.77.1 and .2 in a /30. */
export function vethPair(tag: string, addresses: { hostAddr: string; nsAddr: string; prefix: number } = { hostAddr: '169.254.77.1', nsAddr: '169.254.77.2', prefix: 30 }): VethPair {
  const id = `${tag}${process.pid % 10000}`;
  const pair: VethPair = {
    ns: `emcp-${id}`,
    hostIf: `eh${id}`.slice(0, 15),
    nsIf: `en${id}`.slice(0, 15),
    hostAddr: addresses.hostAddr,
    nsAddr: addresses.nsAddr,
    cleanup: () => {
      try {
        ip('link', 'del', pair.hostIf);
      } catch {
        // already gone with the namespace
      }
      try {
        ip('netns', 'del', pair.ns);
      } catch {
        // never created
      }
    },
  };
  try {
    ip('netns', 'add', pair.ns);
    ip('link', 'add', pair.hostIf, 'type', 'veth', 'peer', 'name', pair.nsIf);
    ip('link', 'set', pair.nsIf, 'netns', pair.ns);
    execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${pair.hostIf}.disable_ipv6=1`]);
    ip('netns', 'exec', pair.ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${pair.nsIf}.disable_ipv6=1`);
    ip('addr', 'add', `${pair.hostAddr}/${addresses.prefix}`, 'dev', pair.hostIf);
    ip('link', 'set', pair.hostIf, 'up');
    ip('netns', 'exec', pair.ns, 'ip', 'addr', 'add', `${pair.nsAddr}/${addresses.prefix}`, 'dev', pair.nsIf);
    ip('netns', 'exec', pair.ns, 'ip', 'link', 'set', pair.nsIf, 'up');
    ip('netns', 'exec', pair.ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (e) {
    pair.cleanup();
    throw e;
  }
  return pair;
}

/** Sends `n` UDP packets from inside the pair's namespace to the host side. */
export function sendFromNamespace(pair: VethPair, n: number): void {
  execFileSync('ip', ['netns', 'exec', pair.ns, WORKLOAD, 'udp', String(n), '9', pair.hostAddr]);
}

/** A scratch cgroup under the cgroup2 mount; cleanup removes it. */
export function scratchCgroup(root: string, tag: string): { path: string; cleanup(): void } {
  const path = join(root, `ebpf-mcp-test-${tag}-${process.pid}`);
  mkdirSync(path);
  return {
    path,
    cleanup: () => {
      try {
        rmdirSync(path);
      } catch {
        // still has a process or already removed
      }
    },
  };
}

/**
 * A scratch memory cgroup limited to `limitBytes` with no swap, for a process a test lets the OOM killer end:
 * cgroup2's memory controller when it has one (enabled for the root's children if it was not), else cgroup v1's,
 * below this process's own memory cgroup so the child stays within whatever limits the test runs under. A reason
 * instead when neither exists here. Cleanup removes it (its processes must have ended).
 */
export function memoryCgroup(tag: string, limitBytes: number): { path: string; cleanup(): void } | { skip: string } {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' '));
  const v2 = mounts.find((m) => m[2] === 'cgroup2')?.[1];
  if (v2 && readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) {
    if (!readFileSync(join(v2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory')) writeFileSync(join(v2, 'cgroup.subtree_control'), '+memory');
    return limited(scratchCgroup(v2, tag), { 'memory.max': limitBytes, 'memory.swap.max': 0 });
  }
  const v1 = mounts.find((m) => m[2] === 'cgroup' && m[3]?.split(',').includes('memory'))?.[1];
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[1]?.split(',').includes('memory'))?.[2];
  if (v1 && own !== undefined) {
    // memsw (memory and swap together) after the memory limit: it may never be below it.
    return limited(scratchCgroup(join(v1, own), tag), { 'memory.limit_in_bytes': limitBytes, 'memory.memsw.limit_in_bytes': limitBytes });
  }
  return { skip: 'no memory cgroup controller here: cgroup2 does not offer "memory" and no cgroup v1 memory hierarchy is mounted' };
}

/** Writes each limit the cgroup has a file for, in order; removes the cgroup if one fails. */
function limited(cg: { path: string; cleanup(): void }, limits: Record<string, number>): { path: string; cleanup(): void } {
  try {
    for (const [file, value] of Object.entries(limits)) if (existsSync(join(cg.path, file))) writeFileSync(join(cg.path, file), String(value));
  } catch (e) {
    cg.cleanup();
    throw e;
  }
  return cg;
}

/** A fresh network namespace under /run/netns with only lo, up; cleanup deletes it. */
export function scratchNetns(tag: string): { ns: string; cleanup(): void } {
  const ns = `emcp-${tag}${process.pid % 10000}`;
  const cleanup = () => {
    try {
      ip('netns', 'del', ns);
    } catch {
      // never created
    }
  };
  try {
    ip('netns', 'add', ns);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (e) {
    cleanup();
    throw e;
  }
  return { ns, cleanup };
}

/** A loop device a test owns: its path, its dev_t as the kernel encodes it (major << 20 | minor), and its /sys/block directory. */
export interface Loop {
  dev: string;
  devt: number;
  sys: string;
}

/**
 * Runs `fn` with a fresh 64 MiB loop device (direct I/O on) over a file in a temporary directory, then detaches it
 * and removes the file, whatever happens. Skips the test, with the reason, where no loop device can be made.
 */
export async function withLoop(t: TestContext, fn: (loop: Loop) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-bio-'));
  let dev: string | undefined;
  try {
    const file = join(dir, 'disk');
    execFileSync('truncate', ['-s', '64M', file]);
    try {
      dev = execFileSync('losetup', ['--find', '--show', '--direct-io=on', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (e) {
      const err = e as { code?: string; stderr?: Buffer };
      t.skip(err.code === 'ENOENT' ? 'losetup is not installed' : `no loop device: ${err.stderr?.toString().trim()}`);
      return;
    }
    const [major, minor] = execFileSync('stat', ['-c', '%t:%T', dev], { encoding: 'utf8' }).trim().split(':').map((h) => parseInt(h, 16));
    await fn({ dev, devt: (major as number) * 2 ** 20 + (minor as number), sys: `/sys/block/${basename(dev)}` });
  } finally {
    if (dev) execFileSync('losetup', ['-d', dev]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Completed requests of a loop device, as its stat file counts them. */
export interface LoopStat {
  reads: number;
  writes: number;
  writeSectors: number;
  flushes: number;
}

/** The device's completed requests so far, from its stat file (Documentation/block/stat.rst). */
export function stat(loop: Loop): LoopStat {
  const f = readFileSync(`${loop.sys}/stat`, 'utf8').trim().split(/\s+/).map(Number);
  return { reads: f[0] as number, writes: f[4] as number, writeSectors: f[6] as number, flushes: f[15] ?? 0 };
}

/** What `act` changed in the device's stat. */
export async function delta(loop: Loop, act: () => void | Promise<void>): Promise<LoopStat> {
  const b = stat(loop);
  await act();
  const a = stat(loop);
  return { reads: a.reads - b.reads, writes: a.writes - b.writes, writeSectors: a.writeSectors - b.writeSectors, flushes: a.flushes - b.flushes };
}
