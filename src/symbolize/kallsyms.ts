/**
 * Kernel addresses to function names, from /proc/kallsyms: the kernel's text,
 * its modules' (`[module]`) and JITed BPF programs' (`bpf_prog_<tag>_<name>
 * [bpf]`, with net.core.bpf_jit_kallsyms). Read in bounded chunks (procfs
 * reports no size) and kept for a few seconds, so a burst of lookups parses
 * it once and a program loaded since is found on the next read.
 */
import { readProcFile } from './proc-file.js';

/** The most bytes of /proc/kallsyms read (a kernel with every module loaded has ~20 MiB). */
const MAX_KALLSYMS_BYTES = 64 << 20;
/** How long one reading is used. */
const FRESH_MS = 5000;

/** A kernel function an address falls in. */
export interface KernelSymbol {
  name: string;
  /** The module (`[module]` in kallsyms), "bpf" for a BPF program; absent for the kernel's own text. */
  module?: string;
  /** Bytes from the symbol's start. */
  offset: number;
}

/** One reading of kallsyms: text symbols sorted by address, each address as its high and low 32 bits. */
export class KernelSymbols {
  private constructor(
    private readonly high: Uint32Array,
    private readonly low: Uint32Array,
    private readonly names: string[],
    private readonly modules: (string | undefined)[],
    /** Addresses are all zero: kernel.kptr_restrict hides them from this process. */
    readonly hidden: boolean,
  ) {}

  /** Parses kallsyms text (`ADDRESS TYPE NAME[\t[MODULE]]` lines): only text symbols (t, T, w, W) are kept. */
  static parse(text: string): KernelSymbols {
    const high: number[] = [];
    const low: number[] = [];
    const names: string[] = [];
    const modules: (string | undefined)[] = [];
    let nonzero = false;
    let sorted = true;
    for (const line of text.split('\n')) {
      const space = line.indexOf(' ');
      const type = line[space + 1];
      if (space <= 0 || space > 16 || line[space + 2] !== ' ' || (type !== 't' && type !== 'T' && type !== 'w' && type !== 'W')) continue;
      const hex = space === 16 ? line : line.slice(0, space).padStart(16, '0');
      const h = parseInt(hex.slice(0, 8), 16);
      const l = parseInt(hex.slice(8, 16), 16);
      const tab = line.indexOf('\t', space + 3);
      const name = line.slice(space + 3, tab < 0 ? line.length : tab);
      if (Number.isNaN(h) || Number.isNaN(l) || name === '') continue;
      if (h !== 0 || l !== 0) nonzero = true;
      const last = high.length - 1;
      if (last >= 0 && ((high[last] as number) > h || ((high[last] as number) === h && (low[last] as number) > l))) sorted = false;
      high.push(h);
      low.push(l);
      names.push(name);
      modules.push(tab < 0 ? undefined : line.slice(tab + 1).replace(/^\[|\]$/g, ''));
    }
    const hidden = names.length > 0 && !nonzero;
    if (sorted) return new KernelSymbols(Uint32Array.from(high), Uint32Array.from(low), names, modules, hidden);
    // kallsyms lists the kernel's text in order, then modules and BPF programs, which may not follow it.
    const order = [...high.keys()].sort((a, b) => (high[a] as number) - (high[b] as number) || (low[a] as number) - (low[b] as number));
    return new KernelSymbols(
      Uint32Array.from(order, (i) => high[i] as number),
      Uint32Array.from(order, (i) => low[i] as number),
      order.map((i) => names[i] as string),
      order.map((i) => modules[i]),
      hidden,
    );
  }

  /** The function `address` is in: the nearest symbol at or below it; undefined below the first or when addresses are hidden. */
  lookup(address: bigint): KernelSymbol | undefined {
    if (this.hidden || this.names.length === 0) return undefined;
    const h = Number(address >> 32n);
    const l = Number(address & 0xffff_ffffn);
    const atOrBelow = (i: number) => (this.high[i] as number) < h || ((this.high[i] as number) === h && (this.low[i] as number) <= l);
    if (!atOrBelow(0)) return undefined;
    let lo = 0;
    let hi = this.names.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (atOrBelow(mid)) lo = mid;
      else hi = mid - 1;
    }
    const module = this.modules[lo];
    const offset = (h - (this.high[lo] as number)) * 2 ** 32 + (l - (this.low[lo] as number));
    return { name: this.names[lo] as string, ...(module ? { module } : {}), offset };
  }
}

let cached: { at: number; symbols: KernelSymbols } | undefined;

/** This host's kernel symbols, read again when the last reading is older than a few seconds. */
export function kernelSymbols(): KernelSymbols {
  const now = Date.now();
  if (!cached || now - cached.at > FRESH_MS) cached = { at: now, symbols: KernelSymbols.parse(readProcFile('/proc/kallsyms', MAX_KALLSYMS_BYTES)) };
  return cached.symbols;
}
