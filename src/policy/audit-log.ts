/**
 * The audit log: one JSON line per tool call (and per release no call made),
 * appended synchronously before the answer goes out, so a host's owner can
 * read afterwards who did what to the kernel. The file is the server's own:
 * mode 0600, owned by the server's user, never a symbolic link or anything
 * but a regular file, rotated by size. Once open, writing never fails the
 * call: a line that cannot be written is counted and the error logged.
 */
import { createHash } from 'node:crypto';
import { type Stats, closeSync, constants, fchmodSync, fstatSync, ftruncateSync, lstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { log } from '../log.js';

/** Kernel objects by kind, as kernel ids (links may be null for netlink tc). */
export interface AuditObjects {
  programs: number[];
  maps: number[];
  links: (number | null)[];
}

/** Who made a call. stdio: the uid and the client's name/version from initialize. HTTP (later): the token's name. */
export interface AuditPrincipal {
  uid?: number;
  client?: { name: string; version?: string };
  token?: string;
}

/** One line of the audit log. */
export interface AuditRecord {
  /** ISO 8601, when the call started. */
  time: string;
  /** The session's id. */
  session: string;
  principal: AuditPrincipal;
  role: string;
  /** Calls, and releases no call made (a lease ran out, the session ended). */
  event: 'call' | 'lease_expired' | 'session_end';
  /** The tool, for 'call'. */
  tool?: string;
  /** The call's arguments, for 'call', already passed through auditArguments. */
  arguments?: unknown;
  outcome: { ok: true } | { ok: false; error: string; rule?: string };
  created: AuditObjects;
  released: AuditObjects;
  duration_ms: number;
}

/** Rotation: a file is rotated before it would pass maxBytes, and keep rotated files are kept. */
export interface AuditLogOptions {
  maxBytes?: number;
  keep?: number;
}

const DEFAULT_MAX_BYTES = 64 << 20;
const DEFAULT_KEEP = 5;

/** How the log file is opened; node opens every file close-on-exec (libuv adds O_CLOEXEC itself). */
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The code of an error from the file system, or a name for one that has none. */
function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'UNKNOWN';
}

/** An Error saying why the audit log cannot be opened, with the code it is logged under once open. */
function refusal(message: string, code: string): Error {
  return Object.assign(new Error(`audit log ${message}`), { code });
}

/** Why an existing file may not be the audit log, or undefined if it may. */
function unfit(st: Stats, path: string): string | undefined {
  if (st.isSymbolicLink()) return `${path} is a symbolic link`;
  if (!st.isFile()) return `${path} is not a regular file`;
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) return `${path} is owned by uid ${st.uid}, not by the server's uid ${uid}`;
  if (st.mode & 0o066) {
    return `${path} is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it`;
  }
  if (st.nlink > 1) return `${path} has ${st.nlink} hard links`;
  return undefined;
}

/**
 * Opens `path` as an audit log file: creates it with mode 0600 (set with
 * fchmod, whatever the umask), or opens an existing one after checking it
 * is fit. Throws an Error saying why not.
 */
function openLogFile(path: string): number {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, OPEN_FLAGS | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        fchmodSync(fd, 0o600);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      return fd;
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ENOENT') throw refusal(`${path}: the directory ${dirname(path)} does not exist`, code);
      if (code !== 'EEXIST') throw refusal(`${path}: cannot create it: ${code}`, code);
    }
    const before = lstatSync(path, { throwIfNoEntry: false });
    if (!before) {
      if (attempt < 3) continue;
      throw refusal(`${path}: it keeps disappearing while being opened`, 'ENOENT');
    }
    const reason = unfit(before, path);
    if (reason) throw refusal(reason, 'EUNFIT');
    let fd: number;
    try {
      fd = openSync(path, OPEN_FLAGS);
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ENOENT' && attempt < 3) continue;
      throw refusal(code === 'ELOOP' ? `${path} is a symbolic link` : `${path}: cannot open it: ${code}`, code);
    }
    const changed = unfit(fstatSync(fd), path);
    if (changed) {
      closeSync(fd);
      throw refusal(changed, 'EUNFIT');
    }
    return fd;
  }
}

/**
 * The audit log, opened with open(): appends one JSON line per write, rotates
 * by size (FILE → FILE.1 → … → FILE.keep, the oldest dropped), and never
 * throws once open.
 */
export class AuditLog {
  private fd: number | undefined;
  private closed = false;
  private lostLines = 0;
  /** Error codes already logged, so a full disk logs once, not once per call. */
  private readonly reported = new Set<string>();

  private constructor(
    /** The log file's path (rotated files are this plus .1, .2, …). */
    readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens (creating with mode 0600, O_APPEND) the audit log at the absolute
   * `path`, whose directory must exist. Throws when the path is relative, or
   * the file is a symbolic link, not a regular file, not the server user's, or
   * open to group or others: the server refuses to start with such a log.
   */
  static open(path: string, opts: AuditLogOptions = {}): AuditLog {
    if (!isAbsolute(path)) throw new Error(`audit log ${path}: must be an absolute path`);
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const keep = opts.keep ?? DEFAULT_KEEP;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new Error(`audit log: maxBytes must be a positive integer, not ${maxBytes}`);
    if (!Number.isSafeInteger(keep) || keep < 1) throw new Error(`audit log: keep must be a positive integer, not ${keep}`);
    return new AuditLog(path, maxBytes, keep, openLogFile(path));
  }

  /** Lines that could not be written since open (a full disk, a removed directory, a write after close). */
  get lost(): number {
    return this.lostLines;
  }

  /**
   * Appends `record` as one line, in one write to one file: rotates first when
   * the line would take the file past maxBytes (a longer line goes alone into
   * a fresh file). Reopens the file if it was removed. Never throws.
   */
  write(record: AuditRecord): void {
    let line: Buffer;
    try {
      line = Buffer.from(JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
    } catch (e) {
      this.lose(Object.assign(new Error(`cannot serialize the record: ${(e as Error)?.message}`), { code: 'UNSERIALIZABLE' }));
      return;
    }
    if (this.closed) {
      this.lose(Object.assign(new Error('the audit log is closed'), { code: 'ECLOSED' }));
      return;
    }
    try {
      let fd = this.current();
      let size = fstatSync(fd).size;
      if (size > 0 && size + line.length > this.maxBytes) {
        fd = this.rotate(fd);
        size = fstatSync(fd).size;
      }
      this.append(fd, line, size);
    } catch (e) {
      this.lose(e);
    }
  }

  /** Closes the file; later writes are counted as lost. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  /** The open fd of the file at `path`: reopened when there is none, or when the file was removed under it. */
  private current(): number {
    if (this.fd !== undefined && fstatSync(this.fd).nlink > 0) return this.fd;
    if (this.fd !== undefined) log.warn('audit log: the file was removed; creating it again', { path: this.path });
    this.drop();
    this.fd = openLogFile(this.path);
    return this.fd;
  }

  /**
   * Shifts FILE.(n) to FILE.(n+1) and FILE to FILE.1, then opens a fresh FILE.
   * If a rename fails, the line still goes to the current file (over the size)
   * rather than being lost.
   */
  private rotate(fd: number): number {
    try {
      for (let n = this.keep - 1; n >= 1; n--) {
        try {
          renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
        } catch (e) {
          if (codeOf(e) !== 'ENOENT') throw e;
        }
      }
      renameSync(this.path, `${this.path}.1`);
    } catch (e) {
      this.report(e, 'cannot rotate; writing on past the size limit');
      return fd;
    }
    this.drop();
    this.fd = openLogFile(this.path);
    return this.fd;
  }

  /** Writes all of `line` at the end of the file of `size` bytes; on failure, cuts the file back so no part of a line stays. */
  private append(fd: number, line: Buffer, size: number): void {
    try {
      for (let done = 0; done < line.length; ) done += writeSync(fd, line, done, line.length - done);
    } catch (e) {
      try {
        ftruncateSync(fd, size);
      } catch {
        // The cut is best effort: the write's own error is the one reported.
      }
      throw e;
    }
  }

  /** Closes the fd, if any. */
  private drop(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Nothing is left to do with an fd that cannot be closed.
    }
    this.fd = undefined;
  }

  /** Counts a lost line and logs its error, once per error code. */
  private lose(e: unknown): void {
    this.lostLines++;
    this.report(e, 'a line could not be written and is lost');
  }

  private report(e: unknown, what: string): void {
    const code = codeOf(e);
    if (this.reported.has(code)) return;
    this.reported.add(code);
    log.error(`audit log: ${what}`, { path: this.path, code, message: (e as Error)?.message, lost: this.lostLines });
  }
}

/** Longest string (and object key) the log keeps whole. */
const MAX_STRING = 256;
/** Deepest nesting of arrays and objects kept; a deeper one is replaced by a marker. */
const MAX_DEPTH = 8;
/** Most items of an array, and keys of an object, kept. */
const MAX_ITEMS = 64;
/** About the most characters of JSON one call's arguments take in the log; past it, lists and objects are cut. */
const MAX_CHARS = 32 << 10;

/** The first MAX_STRING characters of `s` (a surrogate pair is never split), and a marker saying how many more there were. */
function cut(s: string): string {
  if (s.length <= MAX_STRING) return s;
  const end = /[\uD800-\uDBFF]/.test(s[MAX_STRING - 1] as string) ? MAX_STRING - 1 : MAX_STRING;
  return `${s.slice(0, end)}…[${s.length - end} more chars]`;
}

/** load_program's inline object: `{type: "data", blob}` with a string blob. */
function isInlineObject(v: object): v is { type: 'data'; blob: string; checksum?: unknown } {
  const o = v as { type?: unknown; blob?: unknown };
  return o.type === 'data' && typeof o.blob === 'string';
}

/** A bounded, JSON-safe copy of a value, spending from one character budget. */
class BoundedCopy {
  private budget = MAX_CHARS;

  value(v: unknown, depth: number): unknown {
    switch (typeof v) {
      case 'string': {
        const s = cut(v);
        this.budget -= JSON.stringify(s).length;
        return s;
      }
      case 'number':
        this.budget -= 24;
        return Number.isFinite(v) ? v : null;
      case 'boolean':
        this.budget -= 5;
        return v;
      case 'bigint':
        return this.value(v.toString(), depth);
      case 'object':
        if (v === null) {
          this.budget -= 4;
          return null;
        }
        if (depth >= MAX_DEPTH) return this.value(`…[nested deeper than ${MAX_DEPTH} levels]`, depth);
        try {
          return Array.isArray(v) ? this.array(v, depth + 1) : this.object(v, depth + 1);
        } catch {
          return this.value('…[unreadable]', depth);
        }
      default:
        return undefined;
    }
  }

  private array(a: readonly unknown[], depth: number): unknown[] {
    this.budget -= 2;
    const out: unknown[] = [];
    const length = a.length;
    for (let i = 0; i < length && i < MAX_ITEMS && this.budget > 0; i++) {
      const item = this.value(this.read(a, i), depth);
      out.push(item === undefined ? null : item);
    }
    if (out.length < length) out.push(this.value(`…[${length - out.length} more items]`, depth));
    return out;
  }

  private object(o: object, depth: number): Record<string, unknown> {
    if (isInlineObject(o)) return this.inlineObject(o, depth);
    this.budget -= 2;
    const out: Record<string, unknown> = {};
    const keys = Object.keys(o);
    let taken = 0;
    for (; taken < keys.length && taken < MAX_ITEMS && this.budget > 0; taken++) {
      const key = keys[taken] as string;
      const item = this.value(this.read(o, key), depth);
      if (item === undefined) continue;
      const name = cut(key);
      this.budget -= JSON.stringify(name).length + 1;
      define(out, name, item);
    }
    if (taken < keys.length) define(out, '…', this.value(`…[${keys.length - taken} more keys]`, depth));
    return out;
  }

  /** The inline object with its base64 replaced by the sha256 and size of the bytes it decodes to. */
  private inlineObject(o: { blob: string; checksum?: unknown }, depth: number): Record<string, unknown> {
    const bytes = Buffer.from(o.blob.replace(/\s+/g, ''), 'base64');
    const out: Record<string, unknown> = { type: 'data', blob_sha256: createHash('sha256').update(bytes).digest('hex'), blob_bytes: bytes.length };
    this.budget -= 128;
    if ('checksum' in o) {
      const checksum = this.value(o.checksum, depth);
      if (checksum !== undefined) out.checksum = checksum;
    }
    return out;
  }

  /** One property, or a marker if reading it throws (a getter, a proxy). */
  private read(o: object, key: string | number): unknown {
    try {
      return (o as Record<string | number, unknown>)[key];
    } catch {
      return '…[unreadable]';
    }
  }
}

/** Sets an own property, even one named __proto__ (which plain assignment would take as the prototype). */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The arguments as the log keeps them: a JSON-safe deep copy in which
 * load_program's inline object keeps the sha256 and size of its bytes instead
 * of the base64, longer strings are cut to 256 characters, nesting to 8
 * levels, arrays and objects to 64 items, and the whole to about 32 KiB, each
 * cut marked with what it left out. Never throws.
 */
export function auditArguments(args: unknown): unknown {
  try {
    return new BoundedCopy().value(args, 0);
  } catch {
    return '…[unreadable]';
  }
}
