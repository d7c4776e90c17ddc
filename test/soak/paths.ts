/**
 * Paths and names, through the real server over MCP: traversal and
 * symbolic links in and out of the pin prefix, special files of every kind
 * and a 2 GB sparse file as object, btf_path and uprobe/usdt binary. Every
 * call must get a typed error within 2 s, the server's RSS must stay small,
 * and nothing may be pinned or unpinned outside the prefix.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';
import { WORKLOAD } from '../helpers/kernel.js';
import type { SoakPart } from './soak.js';

/** The longest a refusal may take. */
const BOUND_MS = 2000;
/** The most resident memory the server may reach. */
const MAX_RSS_MB = 300;

/** The server's resident memory in MB, from /proc. */
function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** A call and the error type it must get. */
interface Case {
  tool: string;
  args: Record<string, unknown>;
  expect: string;
}

export const pathsPart: SoakPart = {
  name: 'paths and names',
  async run(scale, report) {
    const rounds = scale === 'soak' ? 25 : 1;
    const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-soak-paths-'));
    const prefix = `/sys/fs/bpf/ebpf-mcp-soak-paths-${process.pid}`;
    const outside = `/sys/fs/bpf/ebpf-mcp-soak-outside-${process.pid}`;
    let sock: Server | undefined;
    const servers: Awaited<ReturnType<typeof connect>>[] = [];
    try {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const socket = join(dir, 'sock');
      sock = createServer();
      await new Promise<void>((done) => sock?.listen(socket, done));
      const sparse = join(dir, 'sparse');
      writeFileSync(sparse, '');
      truncateSync(sparse, 2 * 1024 ** 3);
      const sparseElf = join(dir, 'sparse-elf');
      copyFileSync(WORKLOAD, sparseElf);
      truncateSync(sparseElf, 2 * 1024 ** 3);
      const toKmsg = join(dir, 'to-kmsg');
      symlinkSync('/proc/kmsg', toKmsg);
      const special: [string, string][] = [
        [fifo, 'VALIDATION_ERROR'],
        [socket, 'VALIDATION_ERROR'],
        ['/dev/zero', 'VALIDATION_ERROR'],
        [dir, 'VALIDATION_ERROR'],
        ['/proc/kmsg', 'VALIDATION_ERROR'],
        [toKmsg, 'VALIDATION_ERROR'],
        ['/sys/kernel/tracing/trace_pipe', 'VALIDATION_ERROR'],
        ['/sys/fs/cgroup/unified/cgroup.procs', 'VALIDATION_ERROR'],
        ['relative/path', 'VALIDATION_ERROR'],
      ];

      // A pin outside the prefix, and links to it from inside.
      const out = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', outside]);
      servers.push(out);
      const theirs = (await out.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
      const theirMap = theirs.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
      if (!(await out.call('pin_object', { kind: 'map', id: theirMap, path: 'd/m' })).structuredContent.success) throw new Error('cannot pin outside the prefix');
      const c = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix]);
      servers.push(c);
      const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid', 'uprobe_hit', 'usdt_hit'] })).structuredContent;
      const prog = (name: string) => loaded.programs.find((p: { name: string }) => p.name === name).id;
      const mapId = loaded.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
      mkdirSync(prefix, { recursive: true });
      symlinkSync(`${outside}/d`, `${prefix}/to-dir`);
      symlinkSync(`${outside}/d/m`, `${prefix}/to-pin`);
      mkdirSync(`${prefix}/real`);
      symlinkSync(`${outside}/d`, `${prefix}/real/up`);

      const cases: Case[] = [];
      for (const [path, expect] of [...special, [sparse, 'RESOURCE_LIMIT_EXCEEDED'] as [string, string]]) {
        cases.push({ tool: 'load_program', args: { source: { type: 'file', path } }, expect });
      }
      for (const [path, expect] of [...special, [sparse, 'VALIDATION_ERROR'] as [string, string]]) {
        cases.push({ tool: 'load_program', args: { source: { type: 'file', path: fixture('counters') }, btf_path: path }, expect });
      }
      for (const [path, expect] of [...special, [sparse, 'VALIDATION_ERROR'] as [string, string], [sparseElf, 'ATTACHMENT_FAILED'] as [string, string]]) {
        cases.push({ tool: 'attach_program', args: { program_id: prog('uprobe_hit'), attachment: { uprobe: { binary: path, function: 'no_such_function' } } }, expect });
      }
      for (const [path, expect] of [...special, [sparse, 'VALIDATION_ERROR'] as [string, string]]) {
        cases.push({ tool: 'attach_program', args: { program_id: prog('usdt_hit'), attachment: { usdt: { binary: path, provider: 'p', name: 'n' } } }, expect });
      }
      const names = ['../escape', '../../etc/escape', 'a/../../escape', '/etc/escape', `${outside}/escape`, '/sys/fs/bpf/escape', 'to-dir/new', 'real/up/new', 'a//b', '.', 'x\0y'];
      for (const name of names) {
        cases.push({ tool: 'pin_object', args: { kind: 'map', id: mapId, path: name }, expect: 'VALIDATION_ERROR' });
        cases.push({ tool: 'attach_program', args: { program_id: prog('tp_getpid'), attachment: { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } }, pin_path: name }, expect: 'VALIDATION_ERROR' });
      }
      for (const name of [...names, 'to-pin', 'to-dir/m', 'real/up/m', `${prefix}/to-pin`, `${outside}/d/m`, '../' + outside.slice('/sys/fs/bpf/'.length) + '/d/m']) {
        cases.push({ tool: 'unpin_object', args: { path: name }, expect: 'VALIDATION_ERROR' });
      }

      let calls = 0;
      let maxMs = 0;
      let maxRss = rssMb(c.pid);
      for (let round = 0; round < rounds; round++) {
        for (const k of cases) {
          const start = performance.now();
          const r = await Promise.race([
            c.call(k.tool, k.args),
            new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`${k.tool} ${JSON.stringify(k.args)}: no answer within ${BOUND_MS} ms`)), BOUND_MS)),
          ]);
          const ms = performance.now() - start;
          calls++;
          maxMs = Math.max(maxMs, ms);
          const type = r.structuredContent?.error?.type;
          if (type !== k.expect) {
            throw new Error(`${k.tool} ${JSON.stringify(k.args)}: expected ${k.expect}, got ${JSON.stringify(r.structuredContent ?? r.content)}`);
          }
          maxRss = Math.max(maxRss, rssMb(c.pid));
        }
      }
      if (maxRss > MAX_RSS_MB) throw new Error(`server RSS reached ${maxRss.toFixed(0)} MB`);
      for (const escaped of ['/sys/fs/bpf/escape', `${outside}/escape`, `${outside}/d/new`, '/etc/escape']) {
        if (existsSync(escaped)) throw new Error(`something was pinned outside the prefix: ${escaped}`);
      }
      if (!existsSync(`${outside}/d/m`)) throw new Error('a pin outside the prefix was removed');
      report('path calls, all typed errors', calls);
      report('slowest refusal (ms)', Math.round(maxMs));
      report('server max RSS (MB)', Math.round(maxRss));
      report('pins made outside the prefix', 0);
    } finally {
      for (const s of servers) await s.close();
      sock?.close();
      for (const d of [prefix, outside, dir]) rmSync(d, { recursive: true, force: true });
    }
  },
};
