/**
 * Seeded mutants of BPF objects for the hostile-objects soak: each mutant is
 * a pure function of (seed, index) over the same list of objects, so a
 * failing one is reproduced from the two numbers its report prints.
 */
import { type ElfSection, elfSections } from '../../src/obj/elf-check.js';
import { seeded } from './soak.js';

/** What was done to which object, for the report. */
export interface Mutant {
  object: string;
  mutation: string;
  bytes: Uint8Array;
}

/** A BPF object to mutate. */
export interface Original {
  name: string;
  bytes: Uint8Array;
}

/** The mutation families, drawn in turn so every one is exercised at any scale. */
export const MUTATIONS = ['truncate', 'bitflip', 'zero', 'section_header', 'btf_header', 'btf_type', 'btf_ext', 'maps', 'relocation', 'symbol', 'strings', 'instruction'] as const;

/** A mutant's own seed, mixed from the run's seed and its index. */
function mix(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/** The u32 a mutation writes over a word: edge values, near misses of the old value, or anything. */
function hostileWord(old: number, rand: () => number): number {
  const pick = Math.floor(rand() * 9);
  const edges = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, old + 1, old - 1, old + 0x10000, Math.floor(rand() * 0x1_0000_0000)];
  return edges[pick]! >>> 0;
}

/** The sections of each original, parsed once. */
const tables = new WeakMap<Uint8Array, ElfSection[]>();

function sectionsOf(bytes: Uint8Array): ElfSection[] {
  let t = tables.get(bytes);
  if (!t) tables.set(bytes, (t = elfSections(bytes)));
  return t;
}

/** The byte range [start, end) a family aims at in this object, or undefined when it has none. */
function region(family: (typeof MUTATIONS)[number], bytes: Uint8Array, rand: () => number): [number, number] | undefined {
  const sections = sectionsOf(bytes).filter((s) => s.type !== 8 && s.size > 0);
  const named = (test: (s: ElfSection) => boolean): [number, number] | undefined => {
    const hits = sections.filter(test);
    const s = hits[Math.floor(rand() * hits.length)];
    return s ? [s.offset, s.offset + s.size] : undefined;
  };
  const btf = sections.find((s) => s.name === '.BTF');
  switch (family) {
    case 'section_header': {
      const s = sectionsOf(bytes)[Math.floor(rand() * sectionsOf(bytes).length)]!;
      return [s.header, s.header + 64];
    }
    case 'btf_header':
      return btf ? [btf.offset, btf.offset + 24] : undefined;
    case 'btf_type': {
      if (!btf) return undefined;
      const dv = new DataView(bytes.buffer, bytes.byteOffset + btf.offset, btf.size);
      const start = btf.offset + dv.getUint32(4, true) + dv.getUint32(8, true);
      return [start, start + dv.getUint32(12, true)];
    }
    case 'btf_ext':
      return named((s) => s.name === '.BTF.ext');
    case 'maps':
      return named((s) => s.name === '.maps');
    case 'relocation':
      return named((s) => s.type === 9 || s.type === 4);
    case 'symbol':
      return named((s) => s.type === 2);
    case 'strings':
      return named((s) => s.type === 3);
    case 'instruction':
      return named((s) => (s.flags & 4) !== 0);
    default:
      return [0, bytes.length];
  }
}

/** The mutant number `index` of a run seeded with `seed`. */
export function mutant(originals: readonly Original[], seed: number, index: number): Mutant {
  const rand = seeded(mix(seed, index));
  const original = originals[Math.floor(rand() * originals.length)]!;
  const family = MUTATIONS[index % MUTATIONS.length]!;
  const bytes = new Uint8Array(original.bytes); // a copy, whatever the original (a Buffer's slice would share it)
  const [start, end] = region(family, original.bytes, rand) ?? [0, bytes.length];
  const at = start + Math.floor(rand() * (end - start));
  const dv = new DataView(bytes.buffer);
  let mutation: string;
  switch (family) {
    case 'truncate': {
      const len = Math.floor(rand() * bytes.length);
      return { object: original.name, mutation: `truncate to ${len} bytes`, bytes: bytes.subarray(0, len) };
    }
    case 'bitflip': {
      const flips = 1 + Math.floor(rand() * 8);
      const where: number[] = [];
      for (let i = 0; i < flips; i++) {
        const bit = Math.floor(rand() * bytes.length * 8);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        where.push(bit);
      }
      mutation = `flip bits ${where.join(',')}`;
      break;
    }
    case 'zero': {
      const len = 1 + Math.floor(rand() * 256);
      bytes.fill(0, at, Math.min(bytes.length, at + len));
      mutation = `zero ${len} bytes at ${at}`;
      break;
    }
    case 'strings': {
      const value = rand() < 0.5 ? 0 : 0x20 + Math.floor(rand() * 0x60);
      bytes[at] = value;
      mutation = `strings: byte at ${at} = 0x${value.toString(16)}`;
      break;
    }
    default: {
      const word = Math.min(at - ((at - start) % 4), bytes.length - 4);
      const value = hostileWord(dv.getUint32(word, true), rand);
      dv.setUint32(word, value, true);
      mutation = `${family}: u32 at ${word} = 0x${value.toString(16)}`;
    }
  }
  return { object: original.name, mutation, bytes };
}
