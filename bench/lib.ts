/**
 * What every benchmark shares: paths of the built benchmark programs, a
 * connected MCP client on the real server, timed child processes, the
 * countable workload, resident memory, medians, progress lines on stderr and
 * the in-process floor of loading an object.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { BpfObject } from '../src/kernel/object.js';
import { PACKAGE_ROOT } from '../src/paths.js';

/** Where `make bench-build` puts the benchmark's BPF objects and C consumers. */
const BENCH_OUT = join(PACKAGE_ROOT, 'bench', '.output');

/** A benchmark BPF object (bench/bpf/<name>.bpf.c). */
export const benchObject = (name: string): string => join(BENCH_OUT, `${name}.bpf.o`);

/** A benchmark C program (bench/c/<name>.c). */
export const benchBinary = (name: string): string => join(BENCH_OUT, name);

/** The server executable. */
const SERVER_BIN = join(PACKAGE_ROOT, 'bin', 'ebpf-mcp-server');

/** The countable workload: `getpid N` makes exactly N getpid syscalls. */
export const WORKLOAD = join(PACKAGE_ROOT, 'test', '.output', 'workload');

/** A progress line on stderr (stdout carries the figures). */
export function note(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** The median of some numbers (NaN for none). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Milliseconds since an arbitrary start, monotonic. */
export const nowMs = (): number => performance.now();

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A tool result's structured content, loosely typed. */
type Structured = Record<string, any>;

/** A real MCP client (the SDK's) on a spawned ./bin/ebpf-mcp-server over stdio. */
export interface Server {
  pid: number;
  /** Calls a tool; throws with the error's message when it fails. */
  call(name: string, args: Record<string, unknown>, timeoutMs?: number): Promise<Structured>;
  close(): Promise<void>;
}

/**
 * Spawns the server (or `bin`, a command and its first arguments, such as the footprint's floor), initializes the
 * session and lists its tools; `startupMs` is spawn to the tools/list answer.
 */
export async function startServer(args: string[] = [], bin: readonly string[] = [SERVER_BIN]): Promise<{ server: Server; startupMs: number }> {
  const [command, ...first] = bin as [string, ...string[]];
  const transport = new StdioClientTransport({ command, args: [...first, '-t', 'stdio', ...args], stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
  const client = new Client({ name: 'ebpf-mcp-bench', version: '0.0.0' });
  const t0 = nowMs();
  await client.connect(transport);
  // The answer's arrival on the client's stdio, before the SDK client parses and caches the list.
  let answeredAt = 0;
  const deliver = transport.onmessage;
  transport.onmessage = (message) => {
    if (!answeredAt && 'result' in message && 'tools' in (message.result as object)) answeredAt = nowMs();
    deliver?.(message);
  };
  await client.listTools();
  const startupMs = answeredAt - t0;
  const pid = transport.pid;
  if (pid === null) throw new Error('the server did not start');
  const server: Server = {
    pid,
    async call(name, a, timeoutMs = 600_000) {
      const r = await client.callTool({ name, arguments: a }, { timeout: timeoutMs });
      const s = r.structuredContent as Structured | undefined;
      if (r.isError || !s || s.success !== true) {
        throw new Error(`${name} failed: ${JSON.stringify(s?.error ?? r.content)}\nserver stderr: ${stderr}`);
      }
      return s;
    },
    close: () => client.close(),
  };
  return { server, startupMs };
}

/** Resident memory of a process, MB (2^20 bytes), from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** Runs a command to completion; resolves with its stdout and how long it took (spawn to exit). */
export function timedRun(cmd: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = nowMs() - t0;
      if (code === 0) resolve({ ms, stdout: Buffer.concat(out).toString() });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${err.trim()}`));
    });
  });
}

/** Resolves when the child exits, with its exit code. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** The workload started paused: it has printed its pid and runs its loop once `go()` is called. */
export interface PausedWorkload {
  pid: number;
  /** Starts the loop; resolves with the hrtime (ms) at which it was released. */
  go(): number;
  /** Resolves when the workload has exited. */
  done: Promise<number | null>;
  kill(): void;
}

/** Starts the workload with `--wait` so a benchmark can aim its program at the pid first. */
export async function pausedWorkload(args: string[]): Promise<PausedWorkload> {
  const child = spawn(WORKLOAD, ['--wait', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('error', reject);
  });
  const done = exited(child);
  return {
    pid,
    go: () => {
      child.stdin.end('go\n');
      return nowMs();
    },
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Little-endian bytes of u32 values, as a syscall program's context. */
export function u32Context(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v, true));
  return bytes;
}

/** One in-process load of an object, ms: libbpf's open, its load, and of the load the kernel verifier's time by its own count. */
export interface LoadFloor {
  openMs: number;
  loadMs: number;
  verifyMs: number;
}

/**
 * The floor of any answer that loads `elf`: libbpf opening and loading it in this process, no MCP, probe or
 * checks. The verifier's time is what it reports with BPF_LOG_STATS, summed over the programs; the rest of
 * the load is libbpf's (reading and parsing the kernel's BTF for CO-RE, relocating, creating maps and programs).
 */
export function loadFloor(elf: Uint8Array, name: string): LoadFloor {
  const t0 = nowMs();
  const obj = BpfObject.open(elf, name);
  try {
    const t1 = nowMs();
    obj.load({ logLevel: 4 });
    const t2 = nowMs();
    const verifyUs = obj.programs().reduce((n, p) => n + Number(/verification time (\d+) usec/.exec(obj.verifierLog(p.name))?.[1] ?? 0), 0);
    return { openMs: t1 - t0, loadMs: t2 - t1, verifyMs: verifyUs / 1000 };
  } finally {
    obj.close();
  }
}

/** Medians of load floors, ms, and the text of one ("open a + load b (verifier c) = d ms"). */
export function floorMedians(xs: readonly LoadFloor[]): LoadFloor & { totalMs: number; text: string } {
  const m = { openMs: median(xs.map((x) => x.openMs)), loadMs: median(xs.map((x) => x.loadMs)), verifyMs: median(xs.map((x) => x.verifyMs)), totalMs: median(xs.map((x) => x.openMs + x.loadMs)) };
  return { ...m, text: `${m.totalMs.toFixed(1)} ms (medians: open ${m.openMs.toFixed(1)}, load ${m.loadMs.toFixed(1)}, of which the kernel's verifier ${m.verifyMs.toFixed(1)} by its own count)` };
}
