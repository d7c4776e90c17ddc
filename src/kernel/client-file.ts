/**
 * Files a client names (a BPF object, a BTF file, a uprobe or USDT binary),
 * opened so that none can block the server or be read without bound. The
 * path is resolved and lstat'ed first, so a device, FIFO or socket, or a file
 * on a kernel pseudo filesystem (procfs, sysfs, tracefs, debugfs, bpffs,
 * cgroupfs and the like, found by its device in /proc/self/mountinfo, whose
 * "regular" files can block in read() and report no real size) is refused
 * without ever being opened. The resolved path is then opened O_NONBLOCK,
 * O_NOFOLLOW and O_NOCTTY, and fstat on the fd must find the same regular
 * file (same device and inode). Reads are positioned and bounded by the caller.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { InvalidRequest } from './errors.js';

/** Filesystems whose files are kernel interfaces, not data: never read as a client's file. */
const PSEUDO_FILESYSTEMS = new Set([
  'proc', 'sysfs', 'tracefs', 'debugfs', 'bpf', 'cgroup', 'cgroup2', 'securityfs', 'configfs', 'pstore', 'efivarfs',
  'fusectl', 'nsfs', 'binfmt_misc', 'mqueue', 'rpc_pipefs', 'selinuxfs', 'smackfs', 'devpts', 'autofs',
]);

/** Where sysfs has the kernel's BTF (vmlinux and modules). */
const KERNEL_BTF_DIR = '/sys/kernel/btf';

/** The filesystem type of the mount whose device is `major:minor`, from /proc/self/mountinfo. */
function filesystemOf(major: bigint, minor: bigint): string | undefined {
  const dev = `${major}:${minor}`;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (fields[2] !== dev) continue;
    const sep = fields.indexOf('-', 6);
    if (sep > 0) return fields[sep + 1];
  }
  return undefined;
}

/** glibc's dev_t encoding, as node's stat reports it. */
function majorMinor(dev: bigint): [bigint, bigint] {
  return [((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn), (dev & 0xffn) | ((dev >> 12n) & ~0xffn)];
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** A regular data file a client named, open for bounded positioned reads. `field` names the setting in errors. */
export class ClientFile {
  private constructor(
    private readonly fd: number,
    /** The path as opened: absolute, with no symbolic links. */
    readonly path: string,
    /** Its size in bytes, as fstat reports it. */
    readonly size: number,
    readonly field: string,
  ) {}

  /**
   * Opens `path` after the checks above; refusals are InvalidRequest for
   * `field`. With `kernelBtf`, the kernel's own BTF files in sysfs
   * (/sys/kernel/btf/*, sized and never blocking) are taken too.
   */
  static open(path: string, field: string, kernelBtf = false): ClientFile {
    if (!path.startsWith('/')) throw new InvalidRequest(field, 'must be an absolute path', { path });
    let real: string;
    try {
      real = realpathSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InvalidRequest(field, code === 'ENOENT' ? `no such file: ${path}` : `cannot resolve ${path}: ${code}`, { path, errno_name: code });
    }
    const before = lstatSync(real, { bigint: true });
    if (!before.isFile()) {
      const what = kindOf(before);
      throw new InvalidRequest(field, `${path} is ${what === 'not a regular file' ? what : `${what}, not a regular file`}`, { path });
    }
    const fstype = filesystemOf(...majorMinor(before.dev));
    const btf = kernelBtf && fstype === 'sysfs' && real.startsWith(`${KERNEL_BTF_DIR}/`);
    if (fstype !== undefined && PSEUDO_FILESYSTEMS.has(fstype) && !btf) {
      throw new InvalidRequest(field, `${path} is on ${fstype}, a kernel interface filesystem, not a regular data file`, { path, filesystem: fstype });
    }
    let fd: number;
    try {
      fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InvalidRequest(field, `cannot open ${path}: ${code}`, { path, errno_name: code });
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile() || st.dev !== before.dev || st.ino !== before.ino) throw new InvalidRequest(field, `${path} changed while it was opened`, { path });
      return new ClientFile(fd, real, Number(st.size), field);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Opens `path` (as open does), runs `use` on it and closes it. */
  static with<T>(path: string, field: string, use: (file: ClientFile) => T, kernelBtf = false): T {
    const file = ClientFile.open(path, field, kernelBtf);
    try {
      return use(file);
    } finally {
      file.close();
    }
  }

  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Uint8Array {
    return this.fill(new Uint8Array(Math.max(0, Math.min(length, this.size - offset))), offset);
  }

  /** The file from its start, at most `max` bytes (one past fstat's size at most, in case it misreports). */
  readUpTo(max: number): Uint8Array {
    return this.fill(new Uint8Array(Math.min(max, this.size + 1)), 0);
  }

  private fill(bytes: Uint8Array, offset: number): Uint8Array {
    let off = 0;
    while (off < bytes.length) {
      const n = readSync(this.fd, bytes, off, bytes.length - off, offset + off);
      if (n === 0) break;
      off += n;
    }
    return bytes.subarray(0, off);
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.fd);
  }
}
