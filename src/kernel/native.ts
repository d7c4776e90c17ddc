/**
 * The native addon's surface, typed. Mechanism only: every decision about
 * what to load, what to allow and how to report it is made above this file.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NATIVE_ADDON_CANDIDATES } from '../paths.js';

/** An opaque handle to a bpf_object held by the addon. */
export type ObjectHandle = { readonly __brand: 'ObjectHandle' };

/** An opaque handle to an attachment (a bpf_link, a link fd, or a netlink tc filter). */
export type LinkHandle = { readonly __brand: 'LinkHandle' };

/** An opaque handle to a ring or perf buffer reader. */
export type ReaderHandle = { readonly __brand: 'ReaderHandle' };

/** An opaque handle to a table of record keys (freed when collected). */
export type KeysHandle = { readonly __brand: 'KeysHandle' };

/** A program of an opened object, as libbpf sees it before or after load. */
export interface NativeProgram {
  name: string;
  section: string;
  type: number;
  expectedAttachType: number;
  autoload: boolean;
  /** Raw instructions (8 bytes each) as libbpf will load them. */
  insns: Uint8Array;
  /** The program fd once loaded, else negative. */
  fd: number;
}

/** A map of an opened object. */
export interface NativeMap {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** libbpf's own maps for .data/.rodata/.bss/.kconfig. */
  internal: boolean;
  fd: number;
}

/** Per-program settings applied before load. */
export interface ProgramConfig {
  autoload?: boolean;
  type?: number;
  logLevel?: number;
  logSize?: number;
}

/** struct bpf_prog_info, as far as this project reads it. */
export interface NativeProgInfo {
  id: number;
  type: number;
  name: string;
  tag: string;
  loadTimeNs: bigint;
  createdByUid: number;
  btfId: number;
  xlatedLen: number;
  jitedLen: number;
  verifiedInsns: number;
  gplCompatible: boolean;
  runTimeNs: bigint;
  runCnt: bigint;
  ifindex: number;
  mapIds: number[];
}

/** Each member of a record as a column: a typed array for numbers (BigUint64Array for u64), an array for strings. */
type Columns<T> = { [K in keyof T]: T[K] extends bigint ? BigUint64Array : T[K] extends string ? string[] : T[K] extends boolean ? Uint8Array : Uint32Array };

/** Every program's info as columns, row i being one program; its map ids are mapIds[mapIdsStart[i] .. mapIdsStart[i + 1]). */
export type NativeProgColumns = Columns<NativeProgInfo> & { mapIdsStart: Uint32Array };

/** Every map's info as columns, row i being one map. */
export type NativeMapColumns = Columns<NativeMapInfo>;

/** struct bpf_map_info, as far as this project reads it. */
export interface NativeMapInfo {
  id: number;
  type: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  ifindex: number;
}

/** struct bpf_link_info: common members plus those of its kind. */
export interface NativeLinkInfo {
  id: number;
  type: number;
  progId: number;
  /** The tracepoint, function or file of raw tracepoint, perf, iterator and uprobe_multi links. */
  name?: string;
  offset?: number;
  count?: number;
  pid?: number;
  flags?: number;
  addr?: bigint;
  attachType?: number;
  targetObjId?: number;
  targetBtfId?: number;
  cgroupId?: bigint;
  netnsIno?: number;
  ifindex?: number;
  mapId?: number;
  pf?: number;
  hooknum?: number;
  priority?: number;
  perfEventType?: number;
  config?: bigint;
  eventType?: number;
}

/** What BPF_TASK_FD_QUERY says of one fd. */
export interface NativeTaskFd {
  progId: number;
  /** enum bpf_task_fd_type: raw_tracepoint 0, tracepoint 1, kprobe 2, kretprobe 3, uprobe 4, uretprobe 5. */
  fdType: number;
  /** The tracepoint, kprobe function or uprobe file ("" for a kprobe by address). */
  name: string;
  probeOffset: bigint;
  probeAddr: bigint;
}

/** struct bpf_btf_info with the raw BTF. */
export interface NativeBtfInfo {
  id: number;
  name: string;
  kernelBtf: boolean;
  data: Uint8Array;
}

/** Kinds of kernel object for the id and fd calls. */
export const enum ObjKind {
  Prog = 0,
  Map = 1,
  Link = 2,
  Btf = 3,
}

/** Namespaces of libbpf's type names. */
export const enum TypeNameKind {
  Prog = 0,
  Map = 1,
  Attach = 2,
  Link = 3,
}

/** The functions the addon exports. */
export interface Native {
  objectOpen(elf: Uint8Array, name: string, btfCustomPath: string | null): ObjectHandle;
  objectPrograms(h: ObjectHandle): NativeProgram[];
  objectMaps(h: ObjectHandle): NativeMap[];
  programConfigure(h: ObjectHandle, program: string, config: ProgramConfig): void;
  objectLoad(h: ObjectHandle): void;
  programLog(h: ObjectHandle, program: string): string;
  /** Before load: the initial contents of an internal map (".rodata", ...), exactly its value size. */
  mapSetInitialValue(h: ObjectHandle, map: string, bytes: Uint8Array): void;
  objectClose(h: ObjectHandle): void;

  attachAuto(h: ObjectHandle, program: string): LinkHandle;
  attachTracepoint(h: ObjectHandle, program: string, category: string, name: string): LinkHandle;
  attachRawTracepoint(h: ObjectHandle, program: string, name: string): LinkHandle;
  attachKprobe(h: ObjectHandle, program: string, fn: string, offset: number, retprobe: boolean): LinkHandle;
  attachUprobe(h: ObjectHandle, program: string, binary: string, fn: string | null, offset: number, pid: number, retprobe: boolean): LinkHandle;
  attachUsdt(h: ObjectHandle, program: string, binary: string, provider: string, name: string, pid: number): LinkHandle;
  attachPerfEvent(h: ObjectHandle, program: string, type: number, config: number, sample: number, useFreq: boolean, pid: number, cpu: number): LinkHandle;
  linkCreate(
    h: ObjectHandle,
    program: string,
    targetFd: number,
    attachType: number,
    opts: { flags?: number; netfilter?: { pf: number; hooknum: number; priority: number; flags: number } },
  ): LinkHandle;
  tcAttach(h: ObjectHandle, program: string, ifindex: number, egress: boolean, priority: number): LinkHandle;
  /** Creates the interface's clsact qdisc; false when it was there already. */
  tcHookCreate(ifindex: number): boolean;
  tcHookDestroy(ifindex: number): void;
  /** One run of an iterator link, read to its end or cut at `maxBytes`. */
  iterRead(link: LinkHandle, maxBytes: number): { data: Buffer; truncated: boolean };
  linkFromFd(fd: number): LinkHandle;
  linkDescribe(l: LinkHandle): { fd: number; tc?: { handle: number; priority: number } };
  linkDetach(l: LinkHandle): void;
  linkDestroy(l: LinkHandle): void;

  readerOpen(
    mapFd: number,
    perf: boolean,
    opts: { batchBytes: number; maxPerWakeup: number; perfPages: number },
    onBatch: (count: number, bytes: number, start: number, alone: ArrayBuffer | undefined, taken: number) => void,
  ): { reader: ReaderHandle; batch: ArrayBuffer; index: ArrayBuffer };
  /** From the next record taken, deliver only those passing `program` (src/kernel/record-scan.ts), or all (null). */
  readerSelect(r: ReaderHandle, program: Uint32Array | null): void;
  readerConsume(r: ReaderHandle): number;
  /** Counters, and for a ring its consumer and producer positions and data size (0 for a perf buffer). */
  readerStats(r: ReaderHandle): { records: bigint; lost: bigint; wakeups: bigint; closed: boolean; consumerPos: bigint; producerPos: bigint; ringBytes: bigint };
  readerClose(r: ReaderHandle): void;

  /** The numbers of a batch's first `count` records that pass `program` (see src/kernel/record-scan.ts), into `into`; how many. */
  recordsSelect(bytes: Uint8Array, index: Uint32Array, count: number, program: Uint32Array, into: Uint32Array): number;
  keysOpen(keySize: number, maxKeys: number): KeysHandle;
  /** Counts the records numbered in `picked` (null: the first n) per known key; see KeyTable.count. */
  keysCount(
    keys: KeysHandle,
    bytes: Uint8Array,
    index: Uint32Array,
    count: number,
    picked: Uint32Array | null,
    n: number,
    byte: number,
    recordSize: number,
    out: Uint32Array,
  ): { left: number; counted: number };
  keysKnow(keys: KeysHandle, id: number): void;

  /**
   * Runs a loaded program once in the kernel (BPF_PROG_TEST_RUN), `repeat` times for types that
   * allow it (0 for syscall programs). A syscall program reads `ctx`, and the kernel writes the
   * context back into it after the run.
   */
  progTestRun(progFd: number, repeat: number, ctx?: Uint8Array | null): { retval: number; durationNs: bigint };

  nextId(kind: ObjKind, after: number): number;
  fdById(kind: ObjKind, id: number): number;
  progInfo(fd: number): NativeProgInfo;
  mapInfo(fd: number): NativeMapInfo;
  /** The info of every program or map on the host in one walk, in id order; ones gone while it walks are left out. */
  infoAll(kind: ObjKind.Prog): NativeProgColumns;
  infoAll(kind: ObjKind.Map): NativeMapColumns;
  linkInfo(fd: number): NativeLinkInfo;
  btfInfo(fd: number): NativeBtfInfo;
  /**
   * BPF_TASK_FD_QUERY on fd `fd` of process `pid`: the program attached through that perf event (or raw
   * tracepoint) and what it is attached to. Throws (ENOENT, ENOTSUPP, EOPNOTSUPP, EBADF...) when it holds none.
   */
  taskFdQuery(pid: number, fd: number): NativeTaskFd;
  /**
   * Up to `limit` entries of a map: keys back to back (keySize each), values back to back
   * (valueSize each, or round_up(valueSize, 8) per possible CPU when `perCpu`); `more` when
   * entries remain. Entries deleted during the walk are skipped; past `maxMisses` of them the walk stops.
   * With `after` (one key) the walk starts at the key the kernel gives next after it.
   */
  mapDump(
    fd: number,
    keySize: number,
    valueSize: number,
    perCpu: boolean,
    limit: number,
    maxMisses: number,
    after?: Uint8Array | null,
  ): { keys: Uint8Array; values: Uint8Array; count: number; more: boolean };
  /**
   * Looks up (op 0), updates with `flags` (op 1) or deletes (op 2) each of `count` keys (keySize bytes each, back
   * to back), one call per key: `errnos` has 0 or the errno of each. `values` holds valueStride bytes per key: the
   * values to write for update, those read for lookup (zeros where it failed); null for delete.
   */
  mapElems(
    fd: number,
    op: 0 | 1 | 2,
    keySize: number,
    valueStride: number,
    count: number,
    keys: Uint8Array,
    values: Uint8Array | null,
    flags: number,
  ): { errnos: number[]; values?: Buffer };
  objGet(path: string): number;
  objPin(fd: number, path: string): void;
  closeFd(fd: number): void;

  /** The libbpf built against (`version`), the one running (`runtime`), and the file its code is in. */
  libbpfVersion(): { version: string; runtime: string; file?: string };
  probeProgType(type: number): boolean;
  probeMapType(type: number): boolean;
  /** 0 when a minimal program of the type loads, else the kernel's errno. */
  progLoadProbe(type: number, expectedAttachType: number, attachBtfId: number): number;
  typeName(kind: TypeNameKind, value: number): string | null;
  mount(source: string, target: string, fstype: string): void;
  clockBoottimeNs(): bigint;
}

/** The addon once loaded, and the file it came from. */
let loaded: { addon: Native; file: string } | undefined;

/**
 * Loads the first of NATIVE_ADDON_CANDIDATES that loads (the package's prebuilt for this platform, then a local
 * build); when none does, throws an error that says why for each and how to build one.
 */
function load(): { addon: Native; file: string } {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const file of NATIVE_ADDON_CANDIDATES) {
    if (!existsSync(file)) {
      failures.push(`${file}: not there`);
      continue;
    }
    try {
      return { addon: require(file) as Native, file };
    } catch (e) {
      failures.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new Error(
    `ebpf-mcp: no native addon loads on ${process.platform}-${process.arch} (${failures.join('; ')}). ` +
      'Build one: `make build` in a checkout; in an installed package, `node scripts/install-native.mjs` in its directory ' +
      '(`npm rebuild -g ebpf-mcp` runs it where npm allows its scripts): it needs a C compiler, make, node-gyp, ' +
      'the libelf and zlib headers, and apt-get for the libbpf source (scripts/libbpf.sh)',
  );
}

/** The file the addon was loaded from (loading it if it is not yet). */
export function addonFile(): string {
  return (loaded ??= load()).file;
}

/**
 * The addon, loaded on first use: modules that only define things (the tool schemas, for the docs and the unit
 * tests) can be imported where the addon is not built and there is no kernel to talk to.
 */
export const native: Native = new Proxy({} as Native, {
  get: (_, key) => Reflect.get((loaded ??= load()).addon, key),
});
