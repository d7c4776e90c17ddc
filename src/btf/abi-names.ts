/**
 * Names of this host's ABI numbers: syscalls and open(2) flags from the table the build generates
 * from the kernel's UAPI headers (`make` writes bpf/.output/abi_names.json with scripts/abi-names.mjs:
 * both differ between architectures), errno values and signals from Node's os.constants (built for
 * this platform), and address families from a fixed table (the same on every Linux architecture).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { arch } from 'node:process';
import { log } from '../log.js';
import { BPF_OBJECT_DIR } from '../paths.js';

/** The generated table's path. */
const ABI_NAMES_FILE = join(BPF_OBJECT_DIR, 'abi_names.json');

interface AbiTable {
  syscalls: ReadonlyMap<number, string>;
  /** O_* flags by value, the access modes apart; most bits first, so O_SYNC is taken before O_DSYNC. */
  openFlags: readonly (readonly [name: string, value: number])[];
  accessModes: ReadonlyMap<number, string>;
}

let table: AbiTable | undefined;

/** Flags that only alias others or mask them. */
const NOT_FLAGS = new Set(['O_ACCMODE', 'O_NDELAY', 'O_FSYNC', 'O_RSYNC', 'O_RDONLY', 'O_WRONLY', 'O_RDWR']);

function bitCount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x; x &= x - 1) n++;
  return n;
}

/** The generated table, read once; empty (numbers stay numbers, logged once) when missing or built for another architecture. */
function abi(): AbiTable {
  if (table) return table;
  let raw: { arch?: string; syscalls?: Record<string, string>; open_flags?: Record<string, number> } = {};
  try {
    raw = JSON.parse(readFileSync(ABI_NAMES_FILE, 'utf8')) as typeof raw;
    if (raw.arch !== arch) {
      log.warn(`${ABI_NAMES_FILE} was generated for ${raw.arch}, this is ${arch}: syscall ids and open flags stay numbers (run make build)`);
      raw = {};
    }
  } catch (e) {
    log.warn(`cannot read ${ABI_NAMES_FILE} (${(e as Error).message}): syscall ids and open flags stay numbers (run make build)`);
  }
  const flags = Object.entries(raw.open_flags ?? {});
  table = {
    syscalls: new Map(Object.entries(raw.syscalls ?? {}).map(([nr, name]) => [Number(nr), name])),
    openFlags: flags.filter(([name, v]) => !NOT_FLAGS.has(name) && v !== 0).sort((a, b) => bitCount(b[1]) - bitCount(a[1]) || a[1] - b[1]),
    accessModes: new Map(flags.filter(([name]) => name === 'O_RDONLY' || name === 'O_WRONLY' || name === 'O_RDWR').map(([name, v]) => [v, name])),
  };
  return table;
}

/** The syscall named by number `nr` on this architecture ("getpid"), or undefined. */
export function syscallName(nr: number): string | undefined {
  return abi().syscalls.get(nr);
}

/**
 * open(2) flags as names joined by "|", the access mode first ("O_RDONLY|O_CLOEXEC"); bits without
 * a name are added as one hex number. Undefined when the table is missing.
 */
export function openFlagNames(flags: number): string | undefined {
  const { openFlags, accessModes } = abi();
  if (openFlags.length === 0) return undefined;
  let rest = flags >>> 0;
  const mode = accessModes.get(rest & 3);
  const names = [mode ?? `0x${(rest & 3).toString(16)}`];
  rest &= ~3 >>> 0;
  for (const [name, v] of openFlags) {
    if ((rest & v) >>> 0 === v) {
      names.push(name);
      rest = (rest & ~v) >>> 0;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

/** ENOTSUPP, the kernel-internal "not supported" (524) that leaks to user space; os.constants.errno lacks it. */
const ENOTSUPP = 524;
const ERRNO = new Map([...Object.entries(constants.errno).map(([name, n]) => [n, name] as const), [ENOTSUPP, 'ENOTSUPP']]);
const SIGNALS = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name] as const));

/** The errno's name ("ENOENT" for 2), or undefined. */
export function errnoName(n: number): string | undefined {
  return ERRNO.get(n);
}

/** The signal's name ("SIGKILL" for 9), or undefined. */
export function signalName(n: number): string | undefined {
  return SIGNALS.get(n);
}

/** Linux address families (include/linux/socket.h: the same numbers on every architecture). */
const FAMILIES = new Map<number, string>(
  (
    [
      'AF_UNSPEC', 'AF_UNIX', 'AF_INET', 'AF_AX25', 'AF_IPX', 'AF_APPLETALK', 'AF_NETROM', 'AF_BRIDGE', 'AF_ATMPVC', 'AF_X25',
      'AF_INET6', 'AF_ROSE', 'AF_DECnet', 'AF_NETBEUI', 'AF_SECURITY', 'AF_KEY', 'AF_NETLINK', 'AF_PACKET', 'AF_ASH', 'AF_ECONET',
      'AF_ATMSVC', 'AF_RDS', 'AF_SNA', 'AF_IRDA', 'AF_PPPOX', 'AF_WANPIPE', 'AF_LLC', 'AF_IB', 'AF_MPLS', 'AF_CAN',
      'AF_TIPC', 'AF_BLUETOOTH', 'AF_IUCV', 'AF_RXRPC', 'AF_ISDN', 'AF_PHONET', 'AF_IEEE802154', 'AF_CAIF', 'AF_ALG', 'AF_NFC',
      'AF_VSOCK', 'AF_KCM', 'AF_QIPCRTR', 'AF_SMC', 'AF_XDP', 'AF_MCTP',
    ] as const
  ).map((name, n) => [n, name]),
);

/** AF_INET: an IPv4 address follows. */
export const AF_INET = 2;

/** The address family's name ("AF_INET" for 2), or undefined. */
export function familyName(n: number): string | undefined {
  return FAMILIES.get(n);
}
