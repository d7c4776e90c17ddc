/**
 * A real MCP client (the SDK's) talking to ./bin/ebpf-mcp-server (or another server executable) over stdio,
 * the way Claude Desktop or any MCP client does.
 */
import { type CallToolResult, Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { DATA_HEADING } from '../../src/tools/tool.js';
import { SERVER_BIN } from './fixtures.js';

/** A connected client and the server process behind it. */
export interface Connected {
  client: Client;
  transport: StdioClientTransport;
  /** The server's pid. */
  pid: number;
  /** Calls a tool and returns its result with structuredContent typed loosely. */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult & { structuredContent: Record<string, any> }>;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  close(): Promise<void>;
}

/** Where the server runs. */
export interface ConnectOptions {
  /** A network namespace under /run/netns to start the server in (through `ip netns exec`, which execs it). */
  netns?: string;
  /** A command that execs the server, before its path (e.g. setpriv dropping privileges). */
  exec?: string[];
  /** Environment variables for the server, beside the test's own. */
  env?: Record<string, string>;
  /** The server executable (default: the checkout's bin/ebpf-mcp-server), e.g. one an installed package put on PATH. */
  bin?: string;
  /** The server's working directory (default: the test's). */
  cwd?: string;
  /** The protocol era: 2025-11-25 with initialize (the default), or stateless 2026-07-28. */
  era?: 'legacy' | 'modern';
}

/** The 2026-07-28 protocol revision: stateless requests with their version in `_meta`. */
export const MODERN = '2026-07-28';

/** Spawns the server and connects a client to it. */
export async function connect(args: string[] = ['-t', 'stdio'], options: ConnectOptions = {}): Promise<Connected> {
  const env = options.env ? { env: { ...(process.env as Record<string, string>), ...options.env } } : {};
  const cwd = options.cwd ? { cwd: options.cwd } : {};
  const bin = options.bin ?? SERVER_BIN;
  const [command, ...prefix] = options.netns ? ['ip', 'netns', 'exec', options.netns] : (options.exec ?? []);
  const transport = command
    ? new StdioClientTransport({ command, args: [...prefix, bin, ...args], stderr: 'pipe', ...env, ...cwd })
    : new StdioClientTransport({ command: bin, args, stderr: 'pipe', ...env, ...cwd });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: 'ebpf-mcp-test', version: '0.0.0' }, { versionNegotiation: { mode: options.era === 'modern' ? { pin: MODERN } : 'legacy' } });
  await client.connect(transport);
  const pid = transport.pid;
  if (pid === null) throw new Error('server did not start');
  return {
    client,
    transport,
    pid,
    call: async (name, a = {}) =>
      (await client.callTool({ name, arguments: a })) as CallToolResult & { structuredContent: Record<string, any> },
    stderr: () => err,
    close: () => client.close(),
  };
}

/**
 * A result's text content split at the data heading: the prose above it (summary or error message) and the lines
 * of data below it (none when the result has no data). Throws when more than one line is the heading.
 */
export function textParts(r: CallToolResult): { prose: string; data: string[] } {
  const text = (r.content[0] as { text: string }).text;
  const lines = text.split('\n');
  const at = lines.indexOf(DATA_HEADING);
  if (lines.lastIndexOf(DATA_HEADING) !== at) throw new Error(`the data heading is on more than one line:\n${text}`);
  return at < 0 ? { prose: text, data: [] } : { prose: lines.slice(0, at).join('\n'), data: lines.slice(at + 1) };
}
