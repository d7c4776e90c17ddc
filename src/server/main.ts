/**
 * The ebpf-mcp-server command line: flags, then serve. Exit codes: 0 clean,
 * 2 bad usage, 1 failure to start.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { log, setLogLevel, type LogLevel } from '../log.js';
import { AuditLog } from '../policy/audit-log.js';
import { DEFAULT_LIMITS } from '../policy/limits.js';
import { type Policy, defaultPolicy } from '../policy/policy.js';
import { ROLES, isRole } from '../policy/roles.js';
import { OPTIONAL_TOOLS } from '../tools/registry.js';
import { SERVER_VERSION } from '../version.js';
import type { HttpOptions } from './http.js';
import type { ServerOptions } from './server.js';
import { serveStdio } from './stdio.js';
import { TokenFileError, Tokens } from './tokens.js';

const USAGE = `Usage: ebpf-mcp-server [options]

An MCP server for eBPF: load, attach, inspect and stream real eBPF programs.

Options:
  -t, --transport <t>        stdio (default) or http (Streamable HTTP at /mcp)
      --host <addr>          http: address to listen on (default: 127.0.0.1)
      --port <n>             http: port (default: 8585; 0 picks a free one)
      --token-file <file>    http: bearer tokens, one "name role token" or "name role sha256:HEX"
                             a line; the file must not be readable by others (needed off loopback)
      --tls-cert <file>      http: serve HTTPS with this PEM certificate ...
      --tls-key <file>       ... and this PEM key
      --allowed-hosts <list> http: more host names a request's Host and Origin may name
      --idle-timeout <s>     http: end a session idle this long (default: 600)
      --lease <s>            http: keep a stateless client's objects this long after its
                             last request (default: 600)
      --max-sessions <n>     http: sessions open at once (default: 100)
      --policy <file>        policy file (YAML or JSON): role, allowed sources, denied
                             helpers, program types, quotas, rate limits (see SECURITY.md)
      --role <role>          observer | operator | admin: the stdio client's role
                             (default: the policy's, else admin)
      --audit-log <file>     append one JSON line per call to this file (created 0600)
      --node-name <name>     the node name info reports (default: the host name); a fleet's
                             CLI puts it on every row
      --pin-prefix <dir>     bpffs directory for pins (default: /sys/fs/bpf/ebpf-mcp)
      --enable-tools <list>  also offer optional tools: detach_link, unload_program,
                             pin_object, unpin_object (comma-separated, or "all")
      --max-object-mb <n>    largest BPF object accepted, in MiB (default: ${DEFAULT_LIMITS.maxObjectBytes >> 20})
      --max-map-mb <n>       map memory one session may create, in MiB (default: ${DEFAULT_LIMITS.maxMapBytesPerSession >> 20})
      --log-level <level>    error | warn | info | debug (default: info; logs go to stderr)
  -h, --help                 show this help
  -v, --version              show the version
`;

function fail(message: string): never {
  process.stderr.write(`ebpf-mcp-server: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/** A whole number of `flag` from `min` to `max`. */
function integer(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${flag} must be an integer from ${min} to ${max}`);
  return n;
}

/**
 * The HTTP transport's options from the flags; refuses what cannot start (a bad token file, a public address
 * without tokens). `startProblem` is http.ts's check, passed in because that module is loaded only for -t http.
 */
function httpOptions(v: Record<string, string | boolean | undefined>, startProblem: (opts: Omit<HttpOptions, keyof ServerOptions>) => string | undefined): Omit<HttpOptions, keyof ServerOptions> {
  const str = (k: string) => v[k] as string | undefined;
  let tokens: Tokens | undefined;
  const file = str('token-file');
  if (file !== undefined) {
    try {
      tokens = Tokens.read(file);
    } catch (e) {
      if (!(e instanceof TokenFileError)) throw e;
      process.stderr.write(`ebpf-mcp-server: token file ${e.message}\n`);
      process.exit(2);
    }
  }
  const cert = str('tls-cert');
  const key = str('tls-key');
  if ((cert === undefined) !== (key === undefined)) fail('--tls-cert and --tls-key go together');
  const opts = {
    host: str('host') as string,
    port: integer('port', str('port') as string, 0, 65535),
    allowedHosts: (str('allowed-hosts') ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    ...(cert !== undefined && key !== undefined ? { tls: { cert, key } } : {}),
    ...(tokens ? { tokens } : {}),
    idleTimeoutMs: integer('idle-timeout', str('idle-timeout') as string, 1, 86_400) * 1000,
    leaseMs: integer('lease', str('lease') as string, 1, 86_400) * 1000,
    maxSessions: integer('max-sessions', str('max-sessions') as string, 1, 10_000),
  };
  const problem = startProblem(opts);
  if (problem) fail(problem);
  return opts;
}

/**
 * Parses the flags and serves. What only some flags need is imported when they are given: the HTTP transport
 * (with the SDK's Node adapter) for -t http, the policy file reader (with its YAML parser) for --policy; a stdio
 * server without a policy file starts without either.
 */
async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        transport: { type: 'string', short: 't', default: 'stdio' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8585' },
        'token-file': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'allowed-hosts': { type: 'string' },
        'idle-timeout': { type: 'string', default: '600' },
        lease: { type: 'string', default: '600' },
        'max-sessions': { type: 'string', default: '100' },
        policy: { type: 'string' },
        role: { type: 'string' },
        'audit-log': { type: 'string' },
        'pin-prefix': { type: 'string' },
        'node-name': { type: 'string' },
        'enable-tools': { type: 'string' },
        'max-object-mb': { type: 'string' },
        'max-map-mb': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.version) {
    process.stdout.write(`ebpf-mcp-server ${SERVER_VERSION}\n`);
    return;
  }
  const level = values['log-level'];
  if (level !== undefined) {
    if (!['error', 'warn', 'info', 'debug'].includes(level)) fail(`--log-level must be error, warn, info or debug`);
    setLogLevel(level as LogLevel);
  }
  let policy: Policy = defaultPolicy();
  if (values.policy !== undefined) {
    const { PolicyFileError, readPolicyFile } = await import('../policy/policy-file.js');
    try {
      policy = readPolicyFile(values.policy, policy);
    } catch (e) {
      if (!(e instanceof PolicyFileError)) throw e;
      process.stderr.write(`ebpf-mcp-server: policy ${e.message}\n`);
      process.exit(2);
    }
  }
  if (values.role !== undefined) {
    if (!isRole(values.role)) fail(`--role must be ${ROLES.join(', ')}`);
    policy.role = values.role;
  }
  if (values['audit-log'] !== undefined) policy.auditLog = resolve(values['audit-log']);
  const mebibytes = (flag: 'max-object-mb' | 'max-map-mb', max: number): number | undefined => {
    const value = values[flag];
    if (value === undefined) return undefined;
    const mb = Number(value);
    if (!Number.isInteger(mb) || mb < 1 || mb > max) fail(`--${flag} must be an integer from 1 to ${max}`);
    return mb * (1 << 20);
  };
  policy.limits.maxObjectBytes = mebibytes('max-object-mb', 1024) ?? policy.limits.maxObjectBytes;
  policy.limits.maxMapBytesPerSession = mebibytes('max-map-mb', 1 << 20) ?? policy.limits.maxMapBytesPerSession;
  const pinPrefix = values['pin-prefix'];
  if (pinPrefix !== undefined) {
    if (!pinPrefix.startsWith('/sys/fs/bpf/')) fail('--pin-prefix must be a directory under /sys/fs/bpf/');
    policy.pinPrefix = pinPrefix.replace(/\/+$/, '');
  }
  if (values.transport !== 'stdio' && values.transport !== 'http') fail(`unsupported transport ${JSON.stringify(values.transport)}: stdio or http`);

  const wanted = (values['enable-tools'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => w !== 'all' && !OPTIONAL_TOOLS.includes(w));
  if (unknown.length) fail(`--enable-tools: unknown tool(s) ${unknown.join(', ')}; optional tools are ${OPTIONAL_TOOLS.join(', ')}`);
  const optionalTools = wanted.includes('all') ? OPTIONAL_TOOLS : wanted;

  let audit: AuditLog | undefined;
  if (policy.auditLog !== null) {
    try {
      audit = AuditLog.open(policy.auditLog);
    } catch (e) {
      fail(`--audit-log: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  const nodeName = values['node-name'];
  if (nodeName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/.test(nodeName)) fail('--node-name must be 1 to 253 letters, digits, "-", "_" or ".", starting with a letter or digit');
  const server = { policy, optionalTools, ...(audit ? { audit } : {}), ...(nodeName !== undefined ? { nodeName } : {}) };
  if (values.transport === 'http') {
    const { httpStartProblem, serveHttp } = await import('./http.js');
    await serveHttp({ ...server, ...httpOptions(values, httpStartProblem) });
  } else {
    await serveStdio(server);
  }
}

main().catch((e: unknown) => {
  log.error('failed to start', { error: e instanceof Error ? e.stack : String(e) });
  process.exit(1);
});
