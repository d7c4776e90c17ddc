/**
 * The symbol tables of the files processes map, kept by build id (and by
 * device, inode, size and mtime before the build id is known), so each
 * binary is read once however many processes run it. A mapped file is opened
 * through /proc/PID/map_files, which reaches it in any mount namespace and
 * even deleted, else through /proc/PID/root (the path's bytes as the maps file gave them); it is opened non-blocking and
 * must be a regular file. Reads are positioned and bounded
 * (src/obj/elf-symbols.ts); a stripped binary's symbols are looked for in
 * /usr/lib/debug/.build-id too.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { BtfError } from '../btf/error.js';
import { type ElfImage, elfImage } from '../obj/elf-symbols.js';
import type { Mapping } from './process-maps.js';

/** Images kept at most (least recently used dropped first). */
const MAX_IMAGES = 64;

/** By file identity, and by build id: one LRU order over both. */
const images = new Map<string, ElfImage | null>();

/** Keeps `key` as the most recently used. */
function remember(key: string, image: ElfImage | null): ElfImage | null {
  images.delete(key);
  images.set(key, image);
  while (images.size > MAX_IMAGES) images.delete(images.keys().next().value as string);
  return image;
}

/** The ELF image of an open regular file, or null when it is not ELF64 or not well-formed. */
function readImage(fd: number, size: number): ElfImage | null {
  const readAt = (offset: number, length: number): Uint8Array => {
    const bytes = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
    let off = 0;
    while (off < bytes.length) {
      const n = readSync(fd, bytes, off, bytes.length - off, offset + off);
      if (n === 0) break;
      off += n;
    }
    return bytes.subarray(0, off);
  };
  try {
    return elfImage(readAt, size) ?? null;
  } catch (e) {
    if (e instanceof BtfError) return null;
    throw e;
  }
}

/** Runs `read` on the file at `path` if it opens as a regular file without blocking; undefined otherwise. */
function withRegularFile<T>(path: string | Buffer, read: (fd: number, st: { dev: number; ino: number; size: number; mtimeMs: number }) => T): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    return st.isFile() ? read(fd, st) : undefined;
  } finally {
    closeSync(fd);
  }
}

/** A stripped image completed with the functions of its separate debug file, found by build id. */
function withDebugSymbols(image: ElfImage): ElfImage {
  if (!image.buildId || image.buildId.length < 4) return image;
  const debug = withRegularFile(`/usr/lib/debug/.build-id/${image.buildId.slice(0, 2)}/${image.buildId.slice(2)}.debug`, (fd, st) => readImage(fd, st.size));
  return debug && debug.functions.length > image.functions.length ? { ...image, functions: debug.functions } : image;
}

/** The image of the file `m` maps into process `pid`; null when it cannot be read as ELF (it is gone, not ELF, or a device). */
export function mappedImage(pid: number, m: Mapping): ElfImage | null {
  const read = (fd: number, st: { dev: number; ino: number; size: number; mtimeMs: number }): ElfImage | null => {
    const identity = `file:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    if (images.has(identity)) return remember(identity, images.get(identity) ?? null);
    const image = readImage(fd, st.size);
    if (!image) return remember(identity, null);
    const known = image.buildId ? images.get(`build-id:${image.buildId}`) : undefined;
    const full = known ?? withDebugSymbols(image);
    if (image.buildId) remember(`build-id:${image.buildId}`, full);
    return remember(identity, full);
  };
  const viaMapFiles = withRegularFile(`/proc/${pid}/map_files/${m.range}`, read);
  if (viaMapFiles !== undefined) return viaMapFiles;
  return m.path.startsWith('/') ? (withRegularFile(Buffer.from(`/proc/${pid}/root${m.path}`, 'latin1'), read) ?? null) : null;
}
