/**
 * A BPF object file opened through libbpf: its programs and maps before
 * load, the kernel ids after. Load failures become typed errors with the
 * verifier's explanation.
 */
import { KernelError, isNativeError, kernelFailure } from './errors.js';
import { type NativeMap, type NativeProgram, type ObjectHandle, native } from './native.js';
import { mapTypeName, progTypeName, attachTypeName } from './types.js';
import { loadError } from './load-errors.js';
import { probeOpen } from './open-probe.js';
import { checkObject } from '../obj/elf-check.js';

/** A program of an object, before or after load. */
export interface ProgramSpec {
  name: string;
  section: string;
  type: number;
  typeName: string;
  expectedAttachType: string;
  autoload: boolean;
  insns: Uint8Array;
  /** Kernel fd once loaded, else -1. */
  fd: number;
  /** Kernel program id once loaded, else 0. */
  id: number;
  /** Instructions after the verifier's rewrites, once loaded, else 0. */
  xlatedInsns: number;
  /** The kernel's tag of the loaded program, else "". */
  tag: string;
}

/** A map of an object, before or after load: as libbpf describes it, with its type by name and its kernel id once created (else 0). */
export type MapSpec = NativeMap & { typeName: string; id: number };

/** How to load. */
export interface LoadOptions {
  /** Programs to load (all when omitted); the rest stay unloaded. */
  programs?: string[];
  /** Override every loaded program's type. */
  programType?: number;
  /** Verifier log level requested on success too (0 keeps logs only for failures; 4, BPF_LOG_STATS, only the verifier's totals and time). */
  logLevel?: 0 | 1 | 2 | 4;
  /** Bytes of verifier log kept per program. */
  logSize?: number;
}

/** Bytes of verifier log kept per program when the caller does not say. */
const DEFAULT_LOG_SIZE = 4 << 20;

function toProgram(p: NativeProgram): ProgramSpec {
  const info = p.fd >= 0 ? native.progInfo(p.fd) : undefined;
  return {
    name: p.name,
    section: p.section,
    type: p.type,
    typeName: progTypeName(p.type),
    expectedAttachType: attachTypeName(p.expectedAttachType),
    autoload: p.autoload,
    insns: p.insns,
    fd: p.fd < 0 ? -1 : p.fd,
    id: info?.id ?? 0,
    xlatedInsns: info ? info.xlatedLen / 8 : 0,
    tag: info?.tag ?? '',
  };
}

function toMap(m: NativeMap): MapSpec {
  return { ...m, typeName: mapTypeName(m.type), fd: m.fd < 0 ? -1 : m.fd, id: m.fd >= 0 ? native.mapInfo(m.fd).id : 0 };
}

/** An open bpf_object. Close it when done: programs and maps live until then. */
export class BpfObject {
  private handle: ObjectHandle | null;
  /** Programs and maps as read at open, and again once after load (fds and ids change only then). */
  private specs: { programs: ProgramSpec[]; maps: MapSpec[] };

  private constructor(
    handle: ObjectHandle,
    /** The object's name (from the file name or the caller). */
    readonly name: string,
  ) {
    this.handle = handle;
    this.specs = this.readSpecs();
  }

  private readSpecs(): { programs: ProgramSpec[]; maps: MapSpec[] } {
    return { programs: native.objectPrograms(this.h).map(toProgram), maps: native.objectMaps(this.h).map(toMap) };
  }

  /**
   * Opens ELF bytes after the structural check (a malformed object throws MalformedObject);
   * `btfCustomPath` supplies kernel BTF for CO-RE when the kernel has none.
   */
  static open(elf: Uint8Array, name: string, btfCustomPath?: string): BpfObject {
    checkObject(elf);
    return BpfObject.openChecked(elf, name, btfCustomPath);
  }

  /**
   * Opens an untrusted object: the structural check, then libbpf opens it in a throwaway process
   * (a parser crash there is a KernelError 'bad_object'), then here.
   */
  static async openUntrusted(elf: Uint8Array, name: string, btfCustomPath?: string): Promise<BpfObject> {
    checkObject(elf);
    await probeOpen(elf);
    return BpfObject.openChecked(elf, name, btfCustomPath);
  }

  private static openChecked(elf: Uint8Array, name: string, btfCustomPath: string | undefined): BpfObject {
    try {
      return new BpfObject(native.objectOpen(elf, name, btfCustomPath ?? null), name);
    } catch (e) {
      // Opening parses only the bytes given: any failure but running out of memory is the object's.
      const malformed = isNativeError(e) && e.code !== 'ENOMEM';
      throw kernelFailure(e, 'not a loadable BPF object', {}, malformed ? 'bad_object' : undefined);
    }
  }

  private get h(): ObjectHandle {
    if (!this.handle) throw new KernelError('the object is closed', 'released');
    return this.handle;
  }

  /** The specs while the object is open; a closed object refuses. */
  private openSpecs(): { programs: ProgramSpec[]; maps: MapSpec[] } {
    if (!this.handle) throw new KernelError('the object is closed', 'released');
    return this.specs;
  }

  /** The addon's handle, for the kernel modules that attach this object's programs. */
  nativeHandle(): ObjectHandle {
    return this.h;
  }

  /** Whether close() has run. */
  get closed(): boolean {
    return this.handle === null;
  }

  /** The object's programs, in ELF order. */
  programs(): readonly ProgramSpec[] {
    return this.openSpecs().programs;
  }

  /** The object's maps, libbpf's internal ones (.rodata, .bss, ...) included. */
  maps(): readonly MapSpec[] {
    return this.openSpecs().maps;
  }

  /**
   * Loads the chosen programs and creates the maps. A verifier rejection is
   * a VERIFIER_ERROR naming the program, the reason and the instruction.
   */
  load(opts: LoadOptions = {}): void {
    const names = this.programs().map((p) => p.name);
    const wanted = new Set(opts.programs ?? names);
    const logSize = opts.logSize ?? DEFAULT_LOG_SIZE;
    for (const name of names) {
      native.programConfigure(this.h, name, {
        autoload: wanted.has(name),
        ...(opts.programType !== undefined ? { type: opts.programType } : {}),
        logLevel: opts.logLevel ?? 0,
        logSize,
      });
    }
    try {
      native.objectLoad(this.h);
    } catch (e) {
      throw this.loadError(e, names.filter((n) => wanted.has(n)));
    } finally {
      this.specs = this.readSpecs();
    }
  }

  /** The program whose load failed: libbpf names it; else the first chosen one without an fd. */
  private failedProgram(e: unknown, attempted: string[]): string | undefined {
    const named = isNativeError(e) ? /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(e.libbpfLog) : null;
    if (named?.[1] && attempted.includes(named[1])) return named[1];
    return attempted.find((n) => native.programLog(this.h, n).length > 0);
  }

  private loadError(e: unknown, attempted: string[]): Error {
    const failed = this.failedProgram(e, attempted);
    return loadError(e, this.programs().find((p) => p.name === failed), failed ? native.programLog(this.h, failed) : '');
  }

  /**
   * Before load: the initial contents of an internal map by its section name (".rodata" holds the
   * `const volatile` globals a program reads as constants), exactly the section's size.
   */
  setInitialValue(section: string, bytes: Uint8Array): void {
    try {
      native.mapSetInitialValue(this.h, section, bytes);
    } catch (e) {
      throw kernelFailure(e, `cannot set the initial value of ${section}`);
    }
  }

  /** The verifier log kept for a program ("" when none was requested or needed). */
  verifierLog(program: string): string {
    return native.programLog(this.h, program);
  }

  /** Unloads every program and map of the object. Safe to call twice. */
  close(): void {
    if (!this.handle) return;
    native.objectClose(this.handle);
    this.handle = null;
  }
}
