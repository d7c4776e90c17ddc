/**
 * Stack frames as names: kernel addresses through kallsyms, user addresses
 * through the process's mappings and the mapped file's ELF symbols
 * (demangled). One Symbolizer serves one answer: it reads each process's
 * maps once; ELF images and kallsyms are cached beyond it.
 */
import { demangle } from './demangle.js';
import { mappedImage } from './elf-images.js';
import { type KernelSymbols, kernelSymbols } from './kallsyms.js';
import { type Mapping, mappingAt, processMaps } from './process-maps.js';

/** The lowest kernel address on 64-bit Linux: user addresses are below it. */
const KERNEL_START = 0xffff_8000_0000_0000n;

/** Whether `ip` is a kernel address (the top half of a 64-bit address space). */
export const isKernelAddress = (ip: bigint): boolean => ip >= KERNEL_START;

/** One frame, named: its function, or where it is when no symbol covers it. */
export interface Frame {
  /** The address as hex. */
  address: string;
  /** The function's name (demangled), `module+0xOFFSET` when the file has no symbol for it, or a bracketed reason ("[unknown]"). */
  name: string;
  /** The function was found. */
  resolved: boolean;
  /** For a user frame: the file (a path in the traced process's view), or a pseudo mapping ("[vdso]"). For a kernel one: its module, or "bpf". */
  module?: string;
}

/** Why frames could not be named, counted. */
export interface Unresolved {
  /** User frames of processes that had exited (their maps were gone). */
  process_gone: number;
  /** User frames in no mapping, or in a mapping that is not a readable ELF file. */
  no_file: number;
  /** Frames in a file (or the kernel) with no symbol covering them. */
  no_symbol: number;
  /** Kernel frames while kallsyms hides addresses (kernel.kptr_restrict). */
  kernel_hidden: number;
}

/** The last path component. */
const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Names stack frames for one answer. */
export class Symbolizer {
  private kernel: KernelSymbols | undefined;
  private readonly maps = new Map<number, Mapping[] | undefined>();
  readonly unresolved: Unresolved = { process_gone: 0, no_file: 0, no_symbol: 0, kernel_hidden: 0 };

  /** Names a kernel stack, leaf first. Return addresses past the leaf are looked up one byte back, inside the call. */
  kernelFrames(ips: readonly bigint[]): Frame[] {
    this.kernel ??= kernelSymbols();
    const symbols = this.kernel;
    return ips.map((ip, i) => {
      const address = `0x${ip.toString(16)}`;
      const s = symbols.lookup(i === 0 ? ip : ip - 1n);
      if (!s) {
        if (symbols.hidden) this.unresolved.kernel_hidden++;
        else this.unresolved.no_symbol++;
        return { address, name: '[unknown]', resolved: false };
      }
      return { address, name: s.name, resolved: true, ...(s.module ? { module: s.module } : {}) };
    });
  }

  /** Names a user stack of process `pid`, leaf first. */
  userFrames(pid: number, ips: readonly bigint[]): Frame[] {
    if (!this.maps.has(pid)) this.maps.set(pid, processMaps(pid));
    const maps = this.maps.get(pid);
    return ips.map((ip, i) => {
      const address = `0x${ip.toString(16)}`;
      if (isKernelAddress(ip)) return { address, name: '[kernel address in a user stack]', resolved: false };
      if (!maps) {
        this.unresolved.process_gone++;
        return { address, name: '[process exited]', resolved: false };
      }
      const at = Number(i === 0 ? ip : ip - 1n);
      const m = mappingAt(maps, at);
      if (!m || m.path === '') {
        this.unresolved.no_file++;
        return { address, name: m ? '[anonymous memory: JIT code?]' : '[unknown]', resolved: false };
      }
      const image = m.path.startsWith('/') ? mappedImage(pid, m) : null;
      if (!image) {
        this.unresolved.no_file++;
        return { address, name: m.path.startsWith('[') ? m.path : `[${basename(m.path)}]`, resolved: false, module: m.path };
      }
      const fileOffset = at - m.start + m.offset;
      const segment = image.segments.find((s) => fileOffset >= s.offset && fileOffset < s.offset + s.filesz);
      const vaddr = segment ? segment.vaddr + (fileOffset - segment.offset) : fileOffset;
      const fn = functionAt(image.functions, vaddr);
      if (!fn) {
        this.unresolved.no_symbol++;
        return { address, name: `${basename(m.path)}+0x${fileOffset.toString(16)}`, resolved: false, module: m.path };
      }
      return { address, name: demangle(fn.name), resolved: true, module: m.path };
    });
  }
}

/** The function covering `vaddr`: the nearest at or below it, if its size (when known) reaches it. */
function functionAt(functions: readonly { address: number; size: number; name: string }[], vaddr: number): { name: string } | undefined {
  let lo = 0;
  let hi = functions.length - 1;
  if (hi < 0 || vaddr < (functions[0] as { address: number }).address) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((functions[mid] as { address: number }).address <= vaddr) lo = mid;
    else hi = mid - 1;
  }
  const f = functions[lo] as { address: number; size: number; name: string };
  return f.size === 0 || vaddr < f.address + f.size ? f : undefined;
}
