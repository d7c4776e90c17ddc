/**
 * Attach targets as this host has them, read before attaching so a wrong one
 * gets an error that says what exists instead: tracepoints from tracefs,
 * interfaces from sysfs, functions from a binary's symbols, cgroups inside
 * the cgroup2 mount, network namespaces from /run/netns and nsfs. Missing targets are TargetNotFound with the closest
 * names; malformed ones are VALIDATION_ERRORs.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { elfFunctionNames } from '../obj/elf-symbols.js';
import { ClientFile } from './client-file.js';
import { closest } from '../suggest.js';
import { InvalidRequest, NotSupported, TargetNotFound } from './errors.js';
import { TRACEFS, hasTracefs } from './features.js';
import { mountPointOf } from './host.js';
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
  if (!hasTracefs()) throw new NotSupported(`tracefs is not mounted at ${TRACEFS}`, 'tracefs', `tracefs mounted at ${TRACEFS}`);
}

/** Refuses a tracepoint that tracefs does not list, suggesting close ones. */
export function checkTracepoint(category: string, name: string): void {
  requireTracefs();
  if (!/^[\w.-]+$/.test(category)) throw new InvalidRequest('category', 'must be a tracefs category name');
  if (!/^[\w.-]+$/.test(name)) throw new InvalidRequest('name', 'must be a tracefs event name');
  if (existsSync(join(EVENTS, category, name, 'id'))) return;
  throw new TargetNotFound(`no tracepoint ${category}:${name} on this kernel`, 'tracepoint', `${category}:${name}`, closest(`${category}:${name}`, listTracepoints()), {
    category_exists: existsSync(join(EVENTS, category)),
  });
}

/** Refuses a raw tracepoint that no tracefs category has, suggesting close ones. */
export function checkRawTracepoint(name: string): void {
  requireTracefs();
  if (!/^[\w.-]+$/.test(name)) throw new InvalidRequest('name', 'must be a tracepoint name');
  const all = listTracepoints();
  if (all.some((t) => t.endsWith(`:${name}`))) return;
  throw new TargetNotFound(`no tracepoint named ${name} on this kernel`, 'tracepoint', name, closest(name, all.map((t) => t.slice(t.indexOf(':') + 1))));
}

/** Tracepoints that cover the same ground as a kernel function, for when kprobes are missing. */
export function tracepointAlternatives(fn: string): string[] {
  if (!hasTracefs()) return [];
  const core = fn.replace(/^(__x64_sys_|__arm64_sys_|__se_sys_|__do_sys_|ksys_|do_sys_|sys_|do_|__)/, '');
  const all = listTracepoints();
  const direct = all.filter((t) => t.endsWith(`:sys_enter_${core}`) || t.endsWith(`:sys_exit_${core}`));
  return direct.length ? direct : closest(core, all, 5);
}

/** The ifindex of an interface in this network namespace; TargetNotFound lists the ones there are. */
export function interfaceIndex(name: string): number {
  const all = interfacesByIndex();
  for (const [index, n] of all) if (n === name) return index;
  throw new TargetNotFound(`no network interface ${name} in the server's network namespace`, 'interface', name, [...all.values()].sort());
}

/**
 * Checks a uprobe/USDT binary: an absolute path to a regular ELF file (opened
 * as a ClientFile: never blocking, never on a pseudo filesystem) and, when
 * given, defining the function. Only its headers and symbol tables are read.
 */
export function checkBinary(path: string, fn: string | undefined): void {
  ClientFile.with(path, 'binary', (file) => {
    const magic = file.read(0, 4);
    if (magic.length < 4 || magic[0] !== 0x7f || magic[1] !== 0x45 || magic[2] !== 0x4c || magic[3] !== 0x46) {
      throw new InvalidRequest('binary', `${path} is not an ELF binary`, { binary: path });
    }
    if (fn === undefined) return;
    let names: Set<string> | undefined;
    try {
      names = elfFunctionNames((offset, length) => file.read(offset, length), file.size);
    } catch (e) {
      throw new InvalidRequest('binary', `${path} is not a well-formed ELF binary: ${(e as Error).message}`, { binary: path });
    }
    const bare = fn.replace(/@.*$/, '');
    if (names === undefined || names.has(fn) || names.has(bare)) return;
    throw new TargetNotFound(`${path} has no function ${fn}`, 'function', fn, closest(bare, names), { binary: path });
  });
}

/** A cgroup directory inside the cgroup2 mount, as an absolute path with no symlinks. */
export function cgroupDirectory(path: string, field = 'path'): string {
  const root = mountPointOf('cgroup2');
  if (!root) throw new NotSupported('no cgroup2 filesystem is mounted', 'cgroup2', 'a cgroup2 mount');
  const wanted = path.startsWith('/') ? path : join(root, path);
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    throw new InvalidRequest(field, `no cgroup ${path} (cgroup2 is mounted at ${root})`, { cgroup2_mount: root });
  }
  if (real !== resolve(wanted)) throw new InvalidRequest(field, 'must not go through symbolic links', { path });
  if (real !== root && !real.startsWith(root + '/')) throw new InvalidRequest(field, `must be inside the cgroup2 mount ${root}`, { path, cgroup2_mount: root });
  if (!statSync(real).isDirectory() || !existsSync(join(real, 'cgroup.procs'))) throw new InvalidRequest(field, `${path} is not a cgroup directory`);
  return real;
}

/** Where `ip netns` keeps named network namespaces. */
const NETNS_DIR = '/run/netns';

/** A process's network namespace file: /proc/<pid>[/task/<tid>]/ns/net. */
const PROC_NETNS = /^\/proc\/(\d+|self|thread-self)(\/task\/\d+)?\/ns\/net$/;

/** The named network namespaces under /run/netns. */
export function namedNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch {
    return [];
  }
}

/** The names under /run/netns of the network namespace with inode `ino`. */
export function netnsNames(ino: number): string[] {
  return namedNetns().filter((n) => {
    try {
      return statSync(join(NETNS_DIR, n)).ino === ino;
    } catch {
      return false;
    }
  });
}

/**
 * Opens a network namespace for attaching to it: a name under /run/netns (a
 * symlink there is refused, not followed), or the absolute path
 * /run/netns/<name> or /proc/<pid>/ns/net. What opens must be a file of nsfs,
 * the filesystem of /proc/self/ns/net. Returns its fd, which the caller
 * closes. `field` names the setting in errors.
 */
export function openNetns(spec: string, field: string): number {
  const named = spec.startsWith(`${NETNS_DIR}/`) ? spec.slice(NETNS_DIR.length + 1) : spec.startsWith('/') ? undefined : spec;
  if (named === undefined && !PROC_NETNS.test(spec)) {
    throw new InvalidRequest(field, `must be a name under ${NETNS_DIR}, ${NETNS_DIR}/<name> or /proc/<pid>/ns/net`, { netns: spec });
  }
  if (named !== undefined && (!/^[\w.-]+$/.test(named) || named === '.' || named === '..')) {
    throw new InvalidRequest(field, `must be a network namespace name under ${NETNS_DIR} (letters, digits, ".", "-", "_")`, { netns: spec });
  }
  const path = named === undefined ? spec : join(NETNS_DIR, named);
  if (named !== undefined) {
    let link: boolean;
    try {
      link = lstatSync(path).isSymbolicLink();
    } catch {
      throw new TargetNotFound(`no network namespace ${named} in ${NETNS_DIR}`, 'netns', named, namedNetns());
    }
    if (link) throw new InvalidRequest(field, `${path} is a symbolic link; only namespace files are taken`, { netns: spec });
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (named === undefined ? 0 : constants.O_NOFOLLOW));
  } catch (e) {
    throw new TargetNotFound(`cannot open the network namespace ${spec}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'netns', spec, namedNetns());
  }
  if (fstatSync(fd).dev !== statSync('/proc/self/ns/net').dev) {
    closeSync(fd);
    throw new InvalidRequest(field, `${spec} is not a namespace file (not on nsfs)`, { netns: spec });
  }
  return fd;
}
