/**
 * The CLI's session with a server, on the MCP SDK's client: by default a
 * server it spawns (bin/ebpf-mcp-server -t stdio beside this package), or one
 * at `--url` over Streamable HTTP with a bearer token read from
 * `--token-file`. Tool errors become ToolError, a failed or lost connection
 * ConnectionError; closing ends the session, and with it everything the
 * server holds for it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CallToolResult, Client, ProtocolError, SdkError, SdkErrorCode, StreamableHTTPClientTransport, type Tool } from '@modelcontextprotocol/client';
import { PACKAGE_ROOT } from '../paths.js';
import { SERVER_VERSION } from '../version.js';
import { CliError, ConnectionError, EXIT, ToolError, UsageError } from './errors.js';
import { SpawnedServerTransport } from './stdio-transport.js';

/** The server executable the CLI spawns when no --url is given. */
export const SERVER_BIN = join(PACKAGE_ROOT, 'bin', 'ebpf-mcp-server');

/** Longest a single request may take: stream_events answers within 55 s, a load of a large object can take a while. */
const REQUEST_TIMEOUT_MS = 120_000;

/** Longest connecting may take. */
const CONNECT_TIMEOUT_MS = 30_000;

/** How to reach the server. */
export interface ConnectOptions {
  /** A Streamable HTTP endpoint (http(s)://host:port/mcp); absent: spawn the local server on stdio. */
  url?: string;
  /** A file holding the bearer token for --url. */
  tokenFile?: string;
  /** Extra flags for the spawned server. */
  serverArgs?: string[];
  /** Show the spawned server's stderr. */
  verbose?: boolean;
  /** Aborts requests in flight (Ctrl-C). */
  signal: AbortSignal;
  /** Longest connecting, and then each request, may take (default: 30 s to connect, 120 s a request). */
  timeoutMs?: number;
}

/** A tool result with its structuredContent typed loosely. */
export type Result = CallToolResult & { structuredContent?: Record<string, any> };

/**
 * The bearer token in a token file: its first line that is not blank or a comment, either the token alone or a
 * server token-file line (`name role token`), whose last field is the token.
 */
export function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  const fields = line?.split(/\s+/) ?? [];
  const token = fields.length === 1 || fields.length === 3 ? fields[fields.length - 1] : undefined;
  if (!token || token.startsWith('sha256:')) throw new UsageError(`--token-file ${file}: no token in it (a line with the token, or "name role token")`);
  return token;
}

/** A connected session. */
export class Session {
  private closed = false;

  private constructor(
    private readonly client: Client,
    private readonly transport: SpawnedServerTransport | StreamableHTTPClientTransport,
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number,
  ) {}

  /** Connects as `options` say; a server that cannot be started or reached is a ConnectionError. */
  static async open(options: ConnectOptions): Promise<Session> {
    let transport: SpawnedServerTransport | StreamableHTTPClientTransport;
    if (options.url !== undefined) {
      let url: URL;
      try {
        url = new URL(options.url);
      } catch {
        throw new UsageError(`--url ${JSON.stringify(options.url)} is not a URL (http(s)://host:port/mcp)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http:// or https://, not ${url.protocol}`);
      if (options.serverArgs?.length) throw new UsageError('--server-arg applies to the spawned server, not to one at --url');
      const token = options.tokenFile !== undefined ? readToken(options.tokenFile) : undefined;
      transport = new StreamableHTTPClientTransport(url, token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
    } else {
      if (options.tokenFile !== undefined) throw new UsageError('--token-file goes with --url');
      transport = new SpawnedServerTransport(process.execPath, [SERVER_BIN, '-t', 'stdio', ...(options.serverArgs ?? [])], options.verbose === true);
    }
    const client = new Client({ name: 'ebpf-mcp-cli', version: SERVER_VERSION }, { versionNegotiation: { mode: 'legacy' } });
    try {
      await client.connect(transport, { signal: options.signal, timeout: options.timeoutMs ?? CONNECT_TIMEOUT_MS });
    } catch (e) {
      await transport.close().catch(() => undefined);
      if (options.signal.aborted) throw e;
      throw new ConnectionError(connectFailure(e, options.url, transport, options.timeoutMs ?? CONNECT_TIMEOUT_MS));
    }
    return new Session(client, transport, options.signal, options.timeoutMs ?? REQUEST_TIMEOUT_MS);
  }

  /** The tools the server offers (every page). */
  async tools(): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.request(() => this.client.listTools(cursor === undefined ? {} : { cursor }, this.requestOptions()));
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  /** Calls a tool; a result with isError is thrown as a ToolError (with the typed error when it has one). */
  async call(name: string, args: Record<string, unknown> = {}, options: { signal?: AbortSignal } = {}): Promise<Result> {
    const result = (await this.request(() => this.client.callTool({ name, arguments: args }, this.requestOptions(options.signal)))) as Result;
    if (result.isError) throw toolError(result);
    return result;
  }

  /** A resource's text (the server's resources are JSON). */
  async resource(uri: string): Promise<string> {
    const r = await this.request(() => this.client.readResource({ uri }, this.requestOptions()));
    const first = r.contents[0];
    return first && 'text' in first ? first.text : '';
  }

  private requestOptions(signal: AbortSignal | undefined = this.signal) {
    return { signal, timeout: this.timeoutMs };
  }

  /** Runs a request, turning a lost connection into ConnectionError and a protocol error into a CliError. */
  private async request<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw requestFailure(e, this.timeoutMs);
    }
  }

  /** Ends the session: over HTTP a DELETE, over stdio the server's stdin closes; either way it releases what the session holds. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.transport instanceof StreamableHTTPClientTransport) await this.transport.terminateSession().catch(() => undefined);
    await this.client.close().catch(() => undefined);
  }
}

/** A ToolError from a failed result: its typed error, or the text when it has none. */
function toolError(result: Result): ToolError {
  const error = result.structuredContent?.error as { type?: string; message?: string; context?: unknown } | undefined;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return new ToolError(error?.type ?? 'TOOL_ERROR', error?.message ?? text.split('\n')[0] ?? 'the tool failed', error?.context, result.structuredContent);
}

/** Why a connection could not be made, in one line. */
function connectFailure(e: unknown, url: string | undefined, transport: SpawnedServerTransport | StreamableHTTPClientTransport, timeoutMs: number): string {
  if (e instanceof SdkError && e.code === SdkErrorCode.RequestTimeout) return `${url ?? SERVER_BIN}: no answer within ${timeoutMs / 1000} s (timeout)`;
  const err = e as Error & { code?: unknown; cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  if (url === undefined) {
    const tail = transport instanceof SpawnedServerTransport ? transport.serverStderr.trim().split('\n').pop() : undefined;
    return `cannot start ${SERVER_BIN}: ${err.message}${tail ? ` (server said: ${tail})` : ''}`;
  }
  const http = (e as { data?: { status?: number; statusText?: string; text?: string } }).data;
  if (http?.status === 401) return `${url}: HTTP 401 unauthorized: give a valid bearer token with --token-file`;
  if (http?.status !== undefined) {
    let said = http.statusText ?? '';
    try {
      said = (JSON.parse(http.text ?? '') as { error?: { message?: string } }).error?.message ?? said;
    } catch {
      // Not JSON: the status text stands.
    }
    return `${url}: HTTP ${http.status}: ${said}`;
  }
  return `cannot connect to ${url}: ${cause ?? err.message}`;
}

/** A request's failure as the CLI reports it. */
function requestFailure(e: unknown, timeoutMs: number): unknown {
  if (e instanceof CliError) return e;
  if (e instanceof SdkError && (e.code === SdkErrorCode.ConnectionClosed || e.code === SdkErrorCode.NotConnected || e.code === SdkErrorCode.SendFailed)) {
    return new ConnectionError(`the connection to the server was lost: ${e.message}`);
  }
  if (e instanceof SdkError && e.code === SdkErrorCode.RequestTimeout) return new ConnectionError(`the server did not answer within ${timeoutMs / 1000} s`);
  if (e instanceof ProtocolError) return new CliError(e.message, EXIT.tool, 'PROTOCOL_ERROR');
  if (e instanceof TypeError && /fetch failed/.test(e.message)) return new ConnectionError(`the connection to the server was lost: ${String((e as { cause?: unknown }).cause ?? e.message)}`);
  return e;
}
