/**
 * The ebpf-mcp-server command line: flags, then serve. Exit codes: 0 clean,
 * 2 bad usage, 1 failure to start.
 */
import { parseArgs } from 'node:util';
import { log, setLogLevel, type LogLevel } from '../log.js';
import { DEFAULT_LIMITS } from '../policy/limits.js';
import { toolsFor } from '../tools/registry.js';
import { SERVER_VERSION } from '../version.js';
import { serveStdio } from './stdio.js';

const USAGE = `Usage: ebpf-mcp-server [options]

An MCP server for eBPF: load, attach, inspect and stream real eBPF programs.

Options:
  -t, --transport <stdio>    transport to serve (default: stdio)
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
        'pin-prefix': { type: 'string', default: '/sys/fs/bpf/ebpf-mcp' },
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
  const limits = { ...DEFAULT_LIMITS };
  const mebibytes = (flag: 'max-object-mb' | 'max-map-mb', max: number): number | undefined => {
    const value = values[flag];
    if (value === undefined) return undefined;
    const mb = Number(value);
    if (!Number.isInteger(mb) || mb < 1 || mb > max) fail(`--${flag} must be an integer from 1 to ${max}`);
    return mb * (1 << 20);
  };
  limits.maxObjectBytes = mebibytes('max-object-mb', 1024) ?? limits.maxObjectBytes;
  limits.maxMapBytesPerSession = mebibytes('max-map-mb', 1 << 20) ?? limits.maxMapBytesPerSession;
  const pinPrefix = values['pin-prefix'];
  if (!pinPrefix.startsWith('/sys/fs/bpf/')) fail('--pin-prefix must be a directory under /sys/fs/bpf/');
  if (values.transport !== 'stdio') fail(`unsupported transport ${JSON.stringify(values.transport)} (this version serves stdio)`);

  const tools = toolsFor(limits);
  const wanted = (values['enable-tools'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const optional = wanted.includes('all') ? tools.optional : tools.optional.filter((t) => wanted.includes(t.name));
  const unknown = wanted.filter((w) => w !== 'all' && !tools.optional.some((t) => t.name === w));
  if (unknown.length) fail(`--enable-tools: unknown tool(s) ${unknown.join(', ')}; optional tools are ${tools.optional.map((t) => t.name).join(', ')}`);

  serveStdio({ tools: [...tools.core, ...optional], limits, pinPrefix: pinPrefix.replace(/\/+$/, '') }).catch((e: unknown) => {
    log.error('failed to start', { error: e instanceof Error ? e.stack : String(e) });
    process.exit(1);
  });
}

main();
