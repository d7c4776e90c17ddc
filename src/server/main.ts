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
import { PolicyFileError, readPolicyFile } from '../policy/policy-file.js';
import { ROLES, isRole } from '../policy/roles.js';
import { OPTIONAL_TOOLS } from '../tools/registry.js';
import { SERVER_VERSION } from '../version.js';
import { serveStdio } from './stdio.js';

const USAGE = `Usage: ebpf-mcp-server [options]

An MCP server for eBPF: load, attach, inspect and stream real eBPF programs.

Options:
  -t, --transport <stdio>    transport to serve (default: stdio)
      --policy <file>        policy file (YAML or JSON): role, allowed sources, denied
                             helpers, program types, quotas, rate limits (see SECURITY.md)
      --role <role>          observer | operator | admin: the stdio client's role
                             (default: the policy's, else admin)
      --audit-log <file>     append one JSON line per call to this file (created 0600)
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

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        transport: { type: 'string', short: 't', default: 'stdio' },
        policy: { type: 'string' },
        role: { type: 'string' },
        'audit-log': { type: 'string' },
        'pin-prefix': { type: 'string' },
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
  if (values.transport !== 'stdio') fail(`unsupported transport ${JSON.stringify(values.transport)} (this version serves stdio)`);

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

  serveStdio({ policy, optionalTools, ...(audit ? { audit } : {}) }).catch((e: unknown) => {
    log.error('failed to start', { error: e instanceof Error ? e.stack : String(e) });
    process.exit(1);
  });
}

main();
