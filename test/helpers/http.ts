/**
 * The server on Streamable HTTP (`-t http --port 0`), spawned for one test:
 * its URL once it serves, its stderr, and a stop that waits for it to exit.
 * Clients are the SDK's, in either protocol era, with a bearer token.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { type CallToolResult, Client, type FetchLike, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { SERVER_BIN } from './fixtures.js';
import type { KeepCallingCommand, KeepCallingReport } from './keep-calling.js';

/** A running `-t http` server. */
export interface HttpServer {
  /** The MCP endpoint, `http(s)://127.0.0.1:PORT/mcp` (the host as bound). */
  url: URL;
  port: number;
  proc: ChildProcess;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; idempotent, and quick when it already exited. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** How the server is started. */
export interface StartOptions {
  /** Environment variables beside the test's own. */
  env?: Record<string, string>;
  /** How long to wait for the 'serving on http' line. */
  timeoutMs?: number;
  /** A network namespace under /run/netns to start the server in (through `ip netns exec`, which execs it). */
  netns?: string;
}

/** Spawns `ebpf-mcp-server -t http --port 0 ...args` and waits until it logs the port it serves on. */
export async function startHttp(args: string[] = [], options: StartOptions = {}): Promise<HttpServer> {
  const argv = [SERVER_BIN, '-t', 'http', '--port', '0', ...args];
  const [command, ...rest] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...argv] : argv;
  const proc = spawn(command as string, rest, {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  let err = '';
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const serving = new Promise<{ url: URL; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'serving on http' line within ${options.timeoutMs ?? 10_000} ms:\n${err}`)), options.timeoutMs ?? 10_000);
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const line = err.split('\n').find((l) => l.includes(' serving on http '));
      if (!line) return;
      const fields = JSON.parse(line.slice(line.indexOf('{'))) as { url: string; port: number };
      clearTimeout(timer);
      resolve({ url: new URL(fields.url), port: fields.port });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before serving:\n${err}`));
    });
  });
  let at: { url: URL; port: number };
  try {
    at = await serving;
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return {
    ...at,
    proc,
    stderr: () => err,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** A tool result with structuredContent typed loosely. */
export type ToolResult = CallToolResult & { structuredContent: Record<string, any> };

/** A client connected over HTTP. */
export interface HttpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
}

/** The protocol eras: a 2025-11-25 session (initialize, Mcp-Session-Id) or stateless 2026-07-28 requests. */
export type Era = '2025-11-25' | '2026-07-28';

/** How an HTTP client connects. */
export interface ClientOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** The fetch the transport uses (e.g. one trusting a test's certificate). */
  fetch?: FetchLike;
  /** The client's name in initialize or the request envelope. */
  name?: string;
}

/** Connects an SDK client to `url` in `era`. */
export async function httpClient(url: URL, era: Era, options: ClientOptions = {}): Promise<HttpClient> {
  const transport = new StreamableHTTPClientTransport(url, {
    ...(options.token ? { requestInit: { headers: { authorization: `Bearer ${options.token}` } } } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const client = new Client({ name: options.name ?? 'ebpf-mcp-http-test', version: '0.0.0' }, { versionNegotiation: { mode: era === '2025-11-25' ? 'legacy' : { pin: era } } });
  await client.connect(transport);
  return {
    client,
    transport,
    call: async (tool, a = {}) => (await client.callTool({ name: tool, arguments: a })) as ToolResult,
  };
}

/** A plain request to the server (what an SDK client would not send: any Host, Origin or path): status, headers, body. */
export function rawRequest(
  url: URL,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; path?: string; ca?: string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const options = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port,
    path: init.path ?? url.pathname,
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...init.headers },
    agent: false as const,
    ...(init.ca !== undefined ? { ca: init.ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An initialize request of a 2025-11-25 client, as a raw body. */
export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw-http-test', version: '0.0.0' } },
};

/**
 * A fetch over node:https that trusts `ca` (a PEM certificate) alone, for a client of a server with a self-signed
 * certificate: the certificate is still checked, against that one authority and the URL's host.
 */
export function fetchTrusting(ca: string): FetchLike {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
      const req = httpsRequest(url, { method: init?.method ?? 'GET', headers, ca, ...(init?.signal ? { signal: init.signal } : {}) }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        const status = res.statusCode ?? 0;
        const empty = [101, 204, 205, 304].includes(status);
        if (empty) res.resume();
        resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: h }));
      });
      req.on('error', reject);
      const body = init?.body;
      req.end(body === undefined || body === null ? undefined : typeof body === 'string' ? body : Buffer.from(body as ArrayBuffer));
    });
}

/** Sessions kept in use by a child process of their own (./keep-calling.ts). */
export interface KeptCalling {
  /** Pings the session of `c` (index `index`) every `everyMs`, one ping at a time, from now on. */
  add(index: number, c: HttpClient, token: string, everyMs: number): void;
  /** Those sessions call inspect_state instead, checked against `programs`; resolves once each was answered right. */
  check(sessions: { index: number; programs: number[] }[]): Promise<void>;
  /** Those sessions get no more calls; resolves once none of theirs is in flight. */
  release(indexes: number[]): Promise<void>;
  /** Ends every loop after its current call and resolves with the tally. */
  stop(): Promise<Extract<KeepCallingReport, { type: 'stopped' }>>;
  /** Kills the process (SIGKILL) if it still runs, and waits for it to exit; for finally blocks, idempotent. */
  kill(): Promise<void>;
}

/**
 * Forks ./keep-calling.js, which keeps 2025-11-25 sessions opened here in use from a process of its own, so this
 * process's event loop stalling (it drives many clients, runs bpftool) cannot keep their calls from the server.
 * A failed check rejects the pending (and every later) check, release or stop.
 */
export function keepCalling(url: URL): KeptCalling {
  const proc = fork(new URL('./keep-calling.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // 'close', not 'exit': by then every message the child sent has been delivered.
  let closed: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => proc.once('close', (code, signal) => resolve((closed = code ?? signal ?? -1))));
  const reports: KeepCallingReport[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  proc.on('message', (m: KeepCallingReport) => {
    reports.push(m);
    wake();
  });
  void exited.then(wake);
  const command = (c: KeepCallingCommand) => {
    if (!proc.connected) throw new Error(`keep-calling exited (${closed ?? 'disconnected'})`);
    proc.send(c);
  };
  /** The next report of `type` after the first `seen` of them; rejected on a failure (unless stopping) or an exit. */
  const next = <T extends 'calling' | 'released' | 'stopped'>(type: T, seen: number, stopping = false): Promise<Extract<KeepCallingReport, { type: T }>> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const failed = reports.find((r) => r.type === 'failed');
        if (!stopping && failed) return reject(new Error(`keep-calling: session ${failed.index}: ${failed.message}`));
        const hit = reports.filter((r) => r.type === type)[seen];
        if (hit) return resolve(hit as Extract<KeepCallingReport, { type: T }>);
        if (closed !== undefined) return reject(new Error(`keep-calling exited (${closed}) before '${type}'`));
        waiters.push(check);
      };
      check();
    });
  const count = (type: KeepCallingReport['type']) => reports.filter((r) => r.type === type).length;
  return {
    add: (index, c, token, everyMs) =>
      command({ type: 'add', index, url: url.href, sessionId: c.transport.sessionId as string, token, protocolVersion: c.transport.protocolVersion as string, everyMs }),
    check: async (sessions) => {
      const seen = count('calling');
      command({ type: 'check', sessions });
      await next('calling', seen);
    },
    release: async (indexes) => {
      const seen = count('released');
      command({ type: 'release', indexes });
      await next('released', seen);
    },
    stop: async () => {
      command({ type: 'stop' });
      const tally = await next('stopped', 0, true);
      await exited;
      return tally;
    },
    kill: async () => {
      if (closed === undefined && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
