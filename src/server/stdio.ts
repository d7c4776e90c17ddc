/**
 * Serving one client over stdio. The session ends, and everything it owns
 * is released, when stdin closes, on SIGTERM/SIGINT/SIGHUP, or when the
 * transport fails (stdout broken), and the process exits within a second
 * whatever is in flight; stdout carries only protocol messages.
 */
import { serveStdio as serveSdkStdio } from '@modelcontextprotocol/server/stdio';
import { HostState } from '../kernel/host.js';
import { log } from '../log.js';
import { Access } from '../policy/access.js';
import { maxInlineObjectChars } from '../policy/limits.js';
import { Session } from '../session/session.js';
import { ServedSession, type ServerOptions, createServer, stdioPrincipal } from './server.js';
import { LineTransport } from './stdio-transport.js';

/**
 * Room for one JSON-RPC message: the longest inline object load_program
 * accepts (twice the size limit, so an object over it is refused with a
 * typed error) and 1 MiB for the rest; a larger message gets a JSON-RPC error.
 */
function messageBufferBytes(maxObjectBytes: number): number {
  return maxInlineObjectChars(maxObjectBytes) + (1 << 20);
}

/** Longest the process lives once it has released its session (stdin closed, a signal). */
const EXIT_DEADLINE_MS = 500;

/** Serves one client, of either protocol era (the SDK picks it from the opening message), until it goes away; then releases the session and exits. */
export async function serveStdio(opts: ServerOptions): Promise<void> {
  const host = new HostState();
  for (const [fs, m] of Object.entries(host.mounts)) {
    if (m.mounted_by_server) log.info(`mounted ${fs}`, { path: m.path });
    if (!m.mounted) log.warn(`${fs} is not mounted`, { path: m.path, error: m.error });
  }
  const served = new ServedSession(opts, new Session(), host, new Access(opts.policy.role, opts.policy), stdioPrincipal());
  const transport = new LineTransport(process.stdin, process.stdout, messageBufferBytes(opts.policy.limits.maxObjectBytes));

  let stopping = false;
  const stop = (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { why });
    served.end();
    // The session is released; whatever is still in flight (a stream's timer, an answer the client will not
    // read) must not keep the process: it exits by the deadline in any case.
    setTimeout(() => process.exit(code), EXIT_DEADLINE_MS).unref();
    void handle.close().finally(() => process.exit(code));
  };
  // The session ends with the connection, not with an MCP server instance: a 2026-07-28 client's server/discover
  // probe gets an instance of its own, closed again when the client falls back to initialize.
  transport.onended = () => stop('client disconnected');
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => stop(signal));
  // Logs are best effort: a client that closed stderr must not end the session with an unhandled EPIPE.
  process.stderr.on('error', () => undefined);
  const handle = serveSdkStdio(() => createServer(served), { transport, onerror: (e) => log.warn('transport error', { error: e.message }) });
  log.info('serving on stdio', { session: served.session.id, role: served.access.role, policy: opts.policy.file ?? 'defaults' });
}
