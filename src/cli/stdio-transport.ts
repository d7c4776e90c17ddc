/**
 * The MCP stdio transport to a server the CLI spawns, in a process group of
 * its own: a Ctrl-C at the terminal reaches the CLI alone, which then stops
 * its stream, reads what it still needs and closes the session itself (the
 * SDK's StdioClientTransport shares the terminal's group, so the server would
 * get the SIGINT too). Messages are newline-delimited JSON, framed linearly.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { type JSONRPCMessage, type Transport, deserializeMessage, serializeMessage } from '@modelcontextprotocol/client';

/** How long close() waits for the server to exit after stdin closes, then after SIGTERM. */
const EXIT_WAIT_MS = 3000;

/** A server process spoken to over its stdin and stdout. */
export class SpawnedServerTransport implements Transport {
  /** Set by the SDK's client. */
  onclose?: () => void;
  /** Set by the SDK's client. */
  onerror?: (error: Error) => void;
  /** Set by the SDK's client. */
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  private child: ChildProcessWithoutNullStreams | undefined;
  private pending: Buffer[] = [];
  private exited: Promise<void> = Promise.resolve();
  /** The last lines the server wrote to stderr, for an error message when it fails. */
  private stderrTail = '';

  constructor(
    private readonly command: string,
    private readonly args: string[],
    /** Pass the server's stderr through to ours (else it is kept, and only its end is shown if it fails). */
    private readonly passStderr: boolean,
  ) {}

  /** The server's pid, once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What the server last wrote to stderr (its last few lines). */
  get serverStderr(): string {
    return this.stderrTail;
  }

  /** Spawns the server; rejects when it cannot be started. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.command, this.args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      this.child = child;
      this.exited = new Promise((r) => child.once('close', () => r()));
      child.once('error', (e) => {
        reject(e);
        this.onerror?.(e);
      });
      child.once('spawn', () => resolve());
      child.once('close', () => {
        this.child = undefined;
        this.onclose?.();
      });
      child.stdin.on('error', (e) => this.onerror?.(e));
      child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        if (this.passStderr) process.stderr.write(chunk);
        this.stderrTail = (this.stderrTail + chunk.toString()).split('\n').slice(-6).join('\n');
      });
    });
  }

  /** Splits stdout into lines, each one message; a line that is not a message is reported through onerror. */
  private receive(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
      this.pending.push(chunk.subarray(from, nl));
      const line = Buffer.concat(this.pending).toString('utf8');
      this.pending = [];
      from = nl + 1;
      if (line.trim() === '') continue;
      try {
        this.onmessage?.(deserializeMessage(line));
      } catch (e) {
        this.onerror?.(e as Error);
      }
    }
    if (from < chunk.length) this.pending.push(chunk.subarray(from));
  }

  /** Writes one message, waiting for the pipe to drain when it is full. */
  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed) return Promise.reject(new Error('the server has exited'));
    return new Promise((resolve) => (stdin.write(serializeMessage(message)) ? resolve() : stdin.once('drain', resolve)));
  }

  /** Closes the server's stdin (it then releases the session and exits), and waits for it to exit; SIGTERM, then SIGKILL, if it lingers. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const wait = () => Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), EXIT_WAIT_MS).unref())]);
    child.stdin.end();
    if (await wait()) return;
    child.kill('SIGTERM');
    if (await wait()) return;
    child.kill('SIGKILL');
    await this.exited;
  }
}
