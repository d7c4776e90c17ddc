/**
 * A minimal ELF64 reader: just enough to pull the `.BTF` section (or any other) out of a compiled
 * BPF object without libbpf. Every offset is bounds-checked; a malformed file throws BtfError.
 */
import { BtfError } from './error.js';

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SHT_NOBITS = 8;
const SHN_XINDEX = 0xffff;

/**
 * Returns the contents of the section called `name` in an ELF64 file (either byte order) as a view
 * into `bytes` (no copy), an empty array for a section with no file contents (SHT_NOBITS, e.g.
 * `.bss`), or undefined when there is no such section. Throws BtfError when the file is not a
 * well-formed ELF64 object.
 */
export function elfSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  if (bytes.length < EHDR_SIZE) throw new BtfError(`ELF: file is ${bytes.length} bytes, shorter than the 64-byte ELF64 header`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new BtfError('ELF: bad magic (not an ELF file)');
  if (bytes[4] !== 2) throw new BtfError(`ELF: class ${bytes[4]} is not ELFCLASS64`);
  if (bytes[5] !== 1 && bytes[5] !== 2) throw new BtfError(`ELF: unknown data encoding ${bytes[5]}`);
  const le = bytes[5] === 1;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (off: number): number => dv.getUint32(off + (le ? 4 : 0), le) * 0x1_0000_0000 + dv.getUint32(off + (le ? 0 : 4), le);

  const shoff = u64(0x28);
  const shentsize = dv.getUint16(0x3a, le);
  let shnum = dv.getUint16(0x3c, le);
  let shstrndx = dv.getUint16(0x3e, le);
  if (shoff === 0) return undefined;
  if (shentsize < SHDR_SIZE) throw new BtfError(`ELF: section header size ${shentsize} is below ${SHDR_SIZE}`);
  const header = (i: number): number => {
    const off = shoff + i * shentsize;
    if (off + SHDR_SIZE > bytes.length) throw new BtfError(`ELF: section header ${i} at ${off} lies past the end of the file (${bytes.length} bytes)`);
    return off;
  };
  // Extended numbering: section 0 holds the real count and string-table index when they overflow.
  if (shnum === 0) shnum = u64(header(0) + 32);
  if (shstrndx === SHN_XINDEX) shstrndx = dv.getUint32(header(0) + 40, le);
  if (shnum * shentsize > bytes.length) throw new BtfError(`ELF: ${shnum} section headers cannot fit in ${bytes.length} bytes`);
  if (shstrndx >= shnum) throw new BtfError(`ELF: section name table index ${shstrndx} is out of range (${shnum} sections)`);

  const contents = (i: number): Uint8Array => {
    const h = header(i);
    const size = u64(h + 32);
    if (dv.getUint32(h + 4, le) === SHT_NOBITS) return bytes.subarray(0, 0);
    const off = u64(h + 24);
    if (off > bytes.length || size > bytes.length - off) throw new BtfError(`ELF: section ${i} (offset ${off}, size ${size}) lies past the end of the file (${bytes.length} bytes)`);
    return bytes.subarray(off, off + size);
  };

  const names = contents(shstrndx);
  const wanted = new TextEncoder().encode(name);
  for (let i = 1; i < shnum; i++) {
    const nameOff = dv.getUint32(header(i), le);
    if (nameOff >= names.length) throw new BtfError(`ELF: section ${i} name offset ${nameOff} is outside the name table (${names.length} bytes)`);
    if (nameOff + wanted.length >= names.length || names[nameOff + wanted.length] !== 0) continue;
    let same = true;
    for (let j = 0; j < wanted.length; j++) {
      if (names[nameOff + j] !== wanted[j]) {
        same = false;
        break;
      }
    }
    if (same) return contents(i);
  }
  return undefined;
}
