/**
 * The server binary driven over raw stdin/stdout, without the SDK client:
 * for what a well-behaved client never sends (junk lines, huge lines,
 * pipelined floods, duplicate ids) and for a client that stops reading.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SERVER_BIN } from './fixtures.js';

/** A JSON-RPC answer as the server wrote it. */
export interface Answer {
  jsonrpc: string;
  id?: string | number | null;
  result?: Record<string, any>;
  error?: { code: number; message: string };
  method?: string;
}

/** A running server and its protocol stream. */
export interface RawServer {
  proc: ChildProcessWithoutNullStreams;
  pid: number;
  /** Writes one line (a newline is added). Resolves when the pipe takes it. */
  line(text: string): Promise<void>;
  /** Writes a JSON-RPC request or notification. */
  send(message: Record<string, unknown>): Promise<void>;
  /** Every answer so far, in order. */
  answers: Answer[];
  /** Resolves with the first answer with this id, waiting up to `ms`. */
  answer(id: string | number, ms?: number): Promise<Answer>;
  /** Stops reading stdout (answers pile up in the pipe) and starts again. */
  pauseReading(): void;
  resumeReading(): void;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  /** Resident memory of the server now, in bytes (VmRSS). */
  rss(): number;
  /** Resolves with the exit code (or signal) once the process has gone. */
  exited: Promise<number | string>;
}

/** The VmRSS of a process, in bytes. */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Spawns the server and completes the initialize handshake. */
export async function rawServer(args: string[] = ['-t', 'stdio']): Promise<RawServer> {
  const proc = spawn(SERVER_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const answers: Answer[] = [];
  const waiters = new Map<string | number, (a: Answer) => void>();
  let err = '';
  let rest = '';
  proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-1_000_000)));
  proc.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      if (!l) continue;
      const a = JSON.parse(l) as Answer;
      answers.push(a);
      if (a.id !== undefined && a.id !== null) waiters.get(a.id)?.(a);
    }
  });
  proc.stdin.on('error', () => undefined);
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const line = (text: string) =>
    new Promise<void>((resolve) => {
      if (proc.stdin.write(text + '\n')) resolve();
      else proc.stdin.once('drain', resolve);
    });
  const server: RawServer = {
    proc,
    pid: proc.pid as number,
    line,
    send: (m) => line(JSON.stringify({ jsonrpc: '2.0', ...m })),
    answers,
    answer: (id, ms = 10_000) => {
      const seen = answers.find((a) => a.id === id);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to ${id} within ${ms} ms`)), ms);
        waiters.set(id, (a) => {
          clearTimeout(timer);
          waiters.delete(id);
          resolve(a);
        });
      });
    },
    pauseReading: () => proc.stdout.pause(),
    resumeReading: () => proc.stdout.resume(),
    stderr: () => err,
    rss: () => rssOf(proc.pid as number),
    exited,
  };
  await server.send({ id: 'init', method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
  await server.answer('init');
  await server.send({ method: 'notifications/initialized' });
  return server;
}

/** A tools/call request. */
export function toolCall(id: string | number, name: string, args?: unknown): Record<string, unknown> {
  return { id, method: 'tools/call', params: { name, ...(args === undefined ? {} : { arguments: args }) } };
}
