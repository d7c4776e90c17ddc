/**
 * Serving over Streamable HTTP at /mcp, for both protocol eras. A
 * 2025-11-25 client opens a session with initialize and owns its objects as
 * a stdio session does: DELETE or the idle timeout ends it and releases them.
 * A stateless 2026-07-28 client's objects belong to its principal under a
 * lease, renewed by every request and released when it runs out. Every
 * request passes, in order: the path, the Host and Origin checks (DNS
 * rebinding), the bearer token, the principal's requests in flight, and a
 * body bounded by the largest object the policy allows.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server as HttpServer, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { NodeStreamableHTTPServerTransport, hostHeaderValidation, originValidation, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { type AuthInfo, ProtocolErrorCode, createMcpHandler, isLegacyRequest } from '@modelcontextprotocol/server';
import { HostState } from '../kernel/host.js';
import { log } from '../log.js';
import { Access } from '../policy/access.js';
import { maxInlineObjectChars } from '../policy/limits.js';
import type { Role } from '../policy/roles.js';
import { Session } from '../session/session.js';
import { ServedSession, type ServerOptions, ToolSet, createServer } from './server.js';
import { type TokenPrincipal, type Tokens, wwwAuthenticate } from './tokens.js';

/** How the HTTP transport is set up. */
export interface HttpOptions extends ServerOptions {
  host: string;
  port: number;
  /** Host names (beside the bound address, and localhost's names on loopback) a request's Host and Origin may name, e.g. behind a reverse proxy. */
  allowedHosts: readonly string[];
  /** PEM files for TLS; plain HTTP without. */
  tls?: { cert: string; key: string };
  /** Bearer tokens; without them only a loopback address may be bound, and every request acts in the policy's role. */
  tokens?: Tokens;
  /** How long a 2025-11-25 session may go without a request before it is ended. */
  idleTimeoutMs: number;
  /** How long a stateless principal's objects outlive its last request. */
  leaseMs: number;
  /** Most 2025-11-25 sessions open at once. */
  maxSessions: number;
}

/** The principal of requests without a token (loopback only). */
const LOCAL = 'local';

/** Whether `host` is a loopback address or name. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Why the server refuses to start with these options, if it does. */
export function httpStartProblem(o: Pick<HttpOptions, 'host' | 'tokens'>): string | undefined {
  if (!isLoopback(o.host) && !o.tokens) return `refusing to listen on ${o.host} without --token-file: a non-loopback address needs authentication`;
  return undefined;
}

/** A JSON-RPC error answered as plain HTTP (before any MCP session is involved). */
function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: status === 404 ? -32001 : -32000, message }, id: null }));
}

/** Reads a request body up to `max` bytes: the bytes, or undefined when it is longer (answered 413). */
async function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) {
      refuse(res, 413, `request body over ${max} bytes (the largest object the policy allows, base64, and room for the rest)`, { connection: 'close' });
      req.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A stateless answer of Method not found, with HTTP 404 as 2026-07-28 asks for a method the server does not
 * implement. The SDK answers 404 itself only when no handler exists; ours has a fallback (for tools/call), so
 * its Method not found for any other method arrives in-band on a 200. Only those answers are read here: a
 * tools/call result or an SSE stream passes untouched.
 */
async function methodNotFoundAs404(response: Response, body: unknown): Promise<Response> {
  const method = typeof body === 'object' && body !== null ? (body as { method?: unknown }).method : undefined;
  if (method === 'tools/call' || response.status !== 200 || !response.headers.get('content-type')?.startsWith('application/json')) return response;
  const text = await response.text();
  let code: unknown;
  try {
    code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
  } catch {
    code = undefined;
  }
  return new Response(text, { status: code === ProtocolErrorCode.MethodNotFound ? 404 : 200, headers: response.headers });
}

/** A 2025-11-25 session: its served session, the MCP server and transport serving it, and when it was last used. */
interface LegacySession {
  served: ServedSession;
  transport: NodeStreamableHTTPServerTransport;
  principal: string;
  lastSeen: number;
  active: number;
}

/** A stateless principal's objects: its served session and the lease that releases it. */
interface Leased {
  served: ServedSession;
  timer: NodeJS.Timeout;
  active: number;
}

/** Serves MCP over HTTP until SIGTERM, SIGINT or SIGHUP, then releases every session and exits. */
export async function serveHttp(opts: HttpOptions): Promise<void> {
  const host = new HostState();
  const limits = opts.policy.limits;
  const maxBody = maxInlineObjectChars(limits.maxObjectBytes) + (1 << 20);
  const names = [...new Set([...(isLoopback(opts.host) ? ['localhost', '127.0.0.1', '[::1]'] : []), isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host, ...opts.allowedHosts])];
  const validHost = hostHeaderValidation(names);
  const validOrigin = originValidation(names);
  const sessions = new Map<string, LegacySession>();
  const leased = new Map<string, Leased>();
  const inFlight = new Map<string, number>();

  const toolSets = new Map<Role, ToolSet>();
  const served = (principal: TokenPrincipal) => {
    const access = new Access(principal.role, opts.policy);
    let tools = toolSets.get(principal.role);
    if (!tools) toolSets.set(principal.role, (tools = new ToolSet(opts, access)));
    return new ServedSession(opts, new Session(), host, access, { token: principal.name }, tools);
  };

  /** Restarts a lease's clock: its objects go `leaseMs` after the last of its requests ends. */
  const renew = (principal: string, held: Leased) => {
    clearTimeout(held.timer);
    held.timer = setTimeout(() => {
      if (held.active > 0 || leased.get(principal) !== held) return;
      log.info('stateless lease ended', { principal, session: held.served.session.id });
      leased.delete(principal);
      held.served.end();
    }, opts.leaseMs);
    held.timer.unref();
  };

  /** The principal's lease, begun if it has none, renewed. */
  const lease = (principal: TokenPrincipal): Leased => {
    let held = leased.get(principal.name);
    if (!held) {
      held = { served: served(principal), timer: setTimeout(() => undefined, 0), active: 0 };
      leased.set(principal.name, held);
    }
    renew(principal.name, held);
    return held;
  };

  const mcp = createMcpHandler(
    (ctx) => {
      const principal = { name: ctx.authInfo?.clientId ?? LOCAL, role: (ctx.authInfo?.extra?.role as Role | undefined) ?? opts.policy.role };
      return createServer(lease(principal).served);
    },
    { legacy: 'reject', maxRequestBodySize: maxBody, onerror: (e) => log.warn('stateless request failed', { error: e.message }) },
  );
  const modern = toNodeHandler(
    { fetch: async (request, options) => methodNotFoundAs404(await mcp.fetch(request, options), options?.parsedBody) },
    { maxRequestBodySize: maxBody, onerror: (e) => log.warn('stateless request failed', { error: e.message }) },
  );

  const endSession = (id: string, why: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    log.info('session ended', { session: s.served.session.id, principal: s.principal, why });
    s.served.end();
    void s.transport.close();
  };

  /** Counts a request as the session's activity while it runs, and its end as the session's last use. */
  const busy = (s: Pick<LegacySession, 'active' | 'lastSeen'>, res: ServerResponse) => {
    s.lastSeen = Date.now();
    s.active++;
    res.once('close', () => {
      s.active--;
      s.lastSeen = Date.now();
    });
  };

  const legacy = async (req: IncomingMessage, res: ServerResponse, body: unknown, principal: TokenPrincipal) => {
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const s = sessions.get(id);
      if (!s || s.principal !== principal.name) return refuse(res, 404, 'Session not found: it ended (DELETE or idle timeout) or was never opened; initialize a new one');
      // A GET is the session's standalone event stream, which the SDK's client opens after initialize and keeps
      // open (this server sends nothing on it but keep-alives): open, it is no use of the session, or a client
      // that went away without DELETE would hold its session, and everything the session holds, for ever.
      if (req.method !== 'GET') busy(s, res);
      return s.transport.handleRequest(req, res, body);
    }
    const isInitialize = req.method === 'POST' && typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'initialize';
    if (!isInitialize) return refuse(res, 400, 'Bad Request: no Mcp-Session-Id header; a session begins with initialize');
    if (sessions.size >= opts.maxSessions) return refuse(res, 503, `${opts.maxSessions} sessions are open, the most this server keeps: end one (DELETE) or try later`);
    const s: Partial<LegacySession> & { served: ServedSession } = { served: served(principal), principal: principal.name, lastSeen: Date.now(), active: 0 };
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      maxRequestBodySize: maxBody,
      onsessioninitialized: (sid) => {
        sessions.set(sid, s as LegacySession);
        log.info('session opened', { session: s.served.session.id, principal: principal.name, role: principal.role });
      },
      onsessionclosed: (sid) => endSession(sid, 'DELETE'),
    });
    s.transport = transport;
    // Initialize is a use too: the idle timeout runs from its answer, not from when the session was made.
    busy(s as LegacySession, res);
    const server = createServer(s.served);
    server.onclose = () => {
      const sid = transport.sessionId;
      if (sid) endSession(sid, 'transport closed');
      else s.served.end();
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    if (!transport.sessionId) s.served.end();
  };

  const handle = async (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/mcp') return refuse(res, 404, 'Not found: the MCP endpoint is /mcp');
    if (!validHost(req, res) || !validOrigin(req, res)) return;
    const authorization = req.headers.authorization;
    const principal = opts.tokens ? opts.tokens.authenticate(authorization) : { name: LOCAL, role: opts.policy.role };
    if (!principal) {
      return refuse(res, 401, 'Unauthorized: a valid bearer token is needed (Authorization: Bearer <token>)', { 'www-authenticate': wwwAuthenticate(authorization !== undefined) });
    }
    // Not a GET: a session's event stream stays open as long as its client is there (one a session, and sessions
    // are bounded by --max-sessions), and counted here, a principal's 32 open sessions would refuse all its calls.
    if (req.method !== 'GET') {
      const running = inFlight.get(principal.name) ?? 0;
      if (running >= limits.maxRequestsInFlight) {
        return refuse(res, 429, `${running} requests of this principal are already in flight, the most allowed: wait for their answers`, { 'retry-after': '1' });
      }
      inFlight.set(principal.name, running + 1);
      res.once('close', () => {
        const n = (inFlight.get(principal.name) ?? 1) - 1;
        if (n > 0) inFlight.set(principal.name, n);
        else inFlight.delete(principal.name);
      });
    }
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, res, maxBody);
      if (raw === undefined) return;
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not JSON' }, id: null }));
      }
    }
    if (await isLegacyRequest(await toWebRequest(req, body), body, { maxRequestBodySize: maxBody })) return legacy(req, res, body, principal);
    const held = lease(principal);
    held.active++;
    res.once('close', () => {
      held.active--;
      if (leased.get(principal.name) === held) renew(principal.name, held);
    });
    // The token itself never travels past this point: the handler sees the principal's name and role.
    req.auth = { token: principal.name, clientId: principal.name, scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600, extra: { role: principal.role } };
    await modern(req, res, body);
  };

  const listener: HttpServer = opts.tls
    ? createHttpsServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) })
    : createHttpServer();
  listener.headersTimeout = 10_000;
  listener.requestTimeout = 30_000;
  listener.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      log.error('request failed', { error: e instanceof Error ? e.stack : String(e) });
      if (!res.headersSent) refuse(res, 500, 'Internal error');
      else res.end();
    });
  });

  // The idle reaper. A tick that comes late means the event loop was stalled: requests that waited out the stall
  // are still unread, so their sessions only look idle; it reaps nothing then, and they are read before the next.
  const every = Math.max(50, Math.min(opts.idleTimeoutMs / 4, 30_000));
  let lastTick = Date.now();
  const reaper = setInterval(() => {
    const now = Date.now();
    const stalled = now - lastTick > 2 * every;
    lastTick = now;
    if (stalled) return;
    for (const [id, s] of sessions) if (s.active === 0 && now - s.lastSeen > opts.idleTimeoutMs) endSession(id, 'idle timeout');
  }, every);
  reaper.unref();

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { why });
    for (const id of [...sessions.keys()]) endSession(id, why);
    for (const [name, l] of leased) {
      leased.delete(name);
      clearTimeout(l.timer);
      l.served.end();
    }
    listener.close();
    listener.closeAllConnections();
    setTimeout(() => process.exit(0), 500).unref();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => stop(signal));
  process.stderr.on('error', () => undefined);

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port, opts.host, () => resolve());
  });
  const address = listener.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const at = isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host;
  log.info('serving on http', { url: `${opts.tls ? 'https' : 'http'}://${at}:${port}/mcp`, port, auth: opts.tokens ? `${opts.tokens.size} token(s)` : 'none (loopback only)' });
}
