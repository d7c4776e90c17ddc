/**
 * MCP over stdio: newline-delimited JSON-RPC on a pair of streams. Framing
 * is linear in the message size (large inline objects arrive in one piece
 * without re-copying), end of input closes the transport, and a message over
 * the size limit is answered with a JSON-RPC error instead of dropping the
 * connection. Output pushes back: while the output is not drained, no more
 * input is read, so a client that stops reading cannot grow the server's
 * memory. A failed output (EPIPE, ENOBUFS) closes the transport.
 */
import type { Readable, Writable } from 'node:stream';
import { type JSONRPCMessage, ProtocolErrorCode, type Transport, parseJSONRPCMessage } from '@modelcontextprotocol/server';
import { jsonText } from '../tools/json-text.js';

const NEWLINE = 0x0a;
/** Where a request id is looked for in an oversized message, to answer it. */
const ID_PROBE_BYTES = 512;
const ID_PATTERN = /"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)/;

/** A Transport over a readable and a writable stream. */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Called once it has closed (input ended, output failed, or closed by its owner), beside `onclose`, which belongs to whoever serves on it. */
  onended?: () => void;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True while skipping the rest of an oversized message. */
  private discarding = false;
  private closed = false;
  /** Resolves when the output drains (or the transport closes); set while input is paused for it. */
  private drained: Promise<void> | undefined;
  private releaseDrained: (() => void) | undefined;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    /** Largest message accepted, in bytes. */
    private readonly maxMessageBytes: number,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  /** Writes one message; while the output is full, input stays paused and this waits for it to drain. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return;
    if (!this.output.write(jsonText(message) + '\n') && !this.drained) {
      this.input.pause();
      this.drained = new Promise<void>((resolve) => {
        this.releaseDrained = resolve;
        this.output.once('drain', this.onDrain);
      });
    }
    await this.drained;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.off('error', this.onInputError);
    this.output.off('drain', this.onDrain);
    this.releaseDrained?.();
    this.pending = [];
    this.onclose?.();
    this.onended?.();
  }

  private readonly onEnd = () => void this.close();
  private readonly onInputError = (e: Error) => this.onerror?.(e);
  /** The output failed (the client went away, or the kernel refused the write): nothing more can be said. */
  private readonly onOutputError = (e: Error) => {
    this.onerror?.(new Error(`output failed: ${e.message}`));
    void this.close();
  };
  private readonly onDrain = () => {
    const release = this.releaseDrained;
    this.drained = undefined;
    this.releaseDrained = undefined;
    release?.();
    if (!this.closed) this.input.resume();
  };

  private readonly onData = (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      const tail = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      if (this.pendingBytes + tail.length > this.maxMessageBytes) {
        this.refuseOversized(tail);
        continue;
      }
      const line = this.pending.length ? Buffer.concat([...this.pending, tail]) : tail;
      this.pending = [];
      this.pendingBytes = 0;
      this.dispatch(line);
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0 || this.discarding) return;
    if (this.pendingBytes + rest.length > this.maxMessageBytes) {
      this.refuseOversized(rest);
      this.discarding = true;
      return;
    }
    this.pending.push(rest);
    this.pendingBytes += rest.length;
  };

  /** Answers a message over the limit (by its id, when it can be found) and drops it. */
  private refuseOversized(last: Buffer): void {
    const head = Buffer.concat([...this.pending, last.subarray(0, ID_PROBE_BYTES)]).subarray(0, ID_PROBE_BYTES).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    const id = ID_PATTERN.exec(head)?.[1];
    const message = `message exceeds the ${this.maxMessageBytes}-byte limit of this server`;
    this.onerror?.(new Error(message));
    if (id !== undefined) {
      void this.send({ jsonrpc: '2.0', id: JSON.parse(id) as string | number, error: { code: ProtocolErrorCode.InvalidRequest, message } });
    }
  }

  private dispatch(line: Buffer): void {
    const text = line.toString('utf8').replace(/\r$/, '');
    if (text.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      this.onerror?.(new Error(`not JSON: ${(e as Error).message.slice(0, 200)}`));
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(json);
    } catch {
      this.onerror?.(new Error('not a JSON-RPC message'));
      // A request that names its id gets an answer, so a client waiting on it is not left hanging.
      const id = (json as { id?: unknown } | null)?.id;
      if (typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id))) {
        void this.send({ jsonrpc: '2.0', id, error: { code: ProtocolErrorCode.InvalidRequest, message: 'not a valid JSON-RPC 2.0 request: it needs "jsonrpc": "2.0", a string "method" and an object or array "params"' } });
      }
      return;
    }
    this.onmessage?.(message);
  }
}
