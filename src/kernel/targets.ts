/**
 * Checking an attachment target before attaching, so a wrong one gets an
 * error that says what exists instead: tracepoints from tracefs, interfaces
 * from sysfs, functions from the binary's symbols, cgroups from the cgroup2
 * mount, kprobe support from the PMUs the kernel registers.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ToolError, invalid } from '../errors.js';
import { closest } from '../suggest.js';
import { elfFunctionNames } from '../obj/elf-symbols.js';
import { TRACEFS, mountPointOf } from './host.js';
import { interfacesByIndex } from './inventory.js';

const EVENTS = join(TRACEFS, 'events');

/** Every tracepoint as `category:name`, from tracefs. */
export function listTracepoints(): string[] {
  const out: string[] = [];
  for (const category of readdirSync(EVENTS, { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const event of readdirSync(join(EVENTS, category.name), { withFileTypes: true })) {
      if (event.isDirectory()) out.push(`${category.name}:${event.name}`);
    }
  }
  return out;
}

function requireTracefs(): void {
  if (!existsSync(EVENTS)) {
    throw new ToolError('UNSUPPORTED_BPF_FEATURE', `tracefs is not mounted at ${TRACEFS}`, { kernel_requirement: 'tracefs' });
  }
}

/** Refuses a tracepoint that tracefs does not list, suggesting close ones. */
export function checkTracepoint(category: string, name: string): void {
  requireTracefs();
  if (!/^[\w.-]+$/.test(category)) throw invalid('attachment.tracepoint.category', 'must be a tracefs category name');
  if (!/^[\w.-]+$/.test(name)) throw invalid('attachment.tracepoint.name', 'must be a tracefs event name');
  if (existsSync(join(EVENTS, category, name, 'id'))) return;
  const all = listTracepoints();
  throw new ToolError('ATTACHMENT_FAILED', `no tracepoint ${category}:${name} on this kernel`, {
    tracepoint: `${category}:${name}`,
    suggestions: closest(`${category}:${name}`, all),
    category_exists: existsSync(join(EVENTS, category)),
  });
}

/** Refuses a raw tracepoint that no tracefs category has, suggesting close ones. */
export function checkRawTracepoint(name: string): void {
  requireTracefs();
  if (!/^[\w.-]+$/.test(name)) throw invalid('attachment.raw_tracepoint.name', 'must be a tracepoint name');
  const all = listTracepoints();
  if (all.some((t) => t.endsWith(`:${name}`))) return;
  throw new ToolError('ATTACHMENT_FAILED', `no tracepoint named ${name} on this kernel`, {
    tracepoint: name,
    suggestions: closest(name, all.map((t) => t.slice(t.indexOf(':') + 1))),
  });
}

/** The ifindex of an interface in this network namespace, or an error listing the ones there are. */
export function interfaceIndex(name: string, field: string): number {
  const all = interfacesByIndex();
  for (const [index, n] of all) if (n === name) return index;
  throw new ToolError('ATTACHMENT_FAILED', `no network interface ${name} in the server's network namespace`, {
    field,
    interfaces: [...all.values()].sort(),
  });
}

/** Checks a uprobe/USDT binary: absolute, a regular ELF file, and (when given) defining the function. */
export function checkBinary(path: string, fn: string | undefined, field: string): void {
  if (!path.startsWith('/')) throw invalid(`${field}.binary`, 'must be an absolute path', { binary: path });
  let bytes: Buffer;
  try {
    if (!statSync(path).isFile()) throw invalid(`${field}.binary`, `${path} is not a regular file`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof ToolError) throw e;
    throw invalid(`${field}.binary`, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (bytes.length < 4 || bytes.readUInt32BE(0) !== 0x7f454c46) throw invalid(`${field}.binary`, `${path} is not an ELF binary`);
  if (fn === undefined) return;
  const names = elfFunctionNames(bytes);
  const bare = fn.replace(/@.*$/, '');
  if (names.has(fn) || names.has(bare)) return;
  throw new ToolError('ATTACHMENT_FAILED', `${path} has no function ${fn}`, {
    binary: path,
    function: fn,
    suggestions: closest(bare, names),
  });
}

/** Whether this kernel can attach kprobes (it registers a kprobe PMU when it can). */
export function kprobesAvailable(): boolean {
  return existsSync('/sys/bus/event_source/devices/kprobe');
}

/** Tracepoints that cover the same ground as a kernel function, for when kprobes are missing. */
export function tracepointAlternatives(fn: string): string[] {
  if (!existsSync(EVENTS)) return [];
  const core = fn.replace(/^(__x64_sys_|__arm64_sys_|__se_sys_|__do_sys_|ksys_|do_sys_|sys_|do_|__)/, '');
  const all = listTracepoints();
  const direct = all.filter((t) => t.endsWith(`:sys_enter_${core}`) || t.endsWith(`:sys_exit_${core}`));
  return direct.length ? direct : closest(core, all, 5);
}

/** A cgroup directory inside the cgroup2 mount, as an absolute path with no symlinks. */
export function cgroupDirectory(path: string, field: string): string {
  const root = mountPointOf('cgroup2');
  if (!root) throw new ToolError('UNSUPPORTED_BPF_FEATURE', 'no cgroup2 filesystem is mounted', { kernel_requirement: 'cgroup2' });
  const wanted = path.startsWith('/') ? path : join(root, path);
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    throw invalid(field, `no cgroup ${path} (cgroup2 is mounted at ${root})`, { cgroup2_mount: root });
  }
  if (real !== resolve(wanted)) throw invalid(field, 'must not go through symbolic links', { path });
  if (real !== root && !real.startsWith(root + '/')) throw invalid(field, `must be inside the cgroup2 mount ${root}`, { path, cgroup2_mount: root });
  if (!statSync(real).isDirectory() || !existsSync(join(real, 'cgroup.procs'))) throw invalid(field, `${path} is not a cgroup directory`);
  return real;
}
