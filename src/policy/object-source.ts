/**
 * Reading a BPF object the caller named: a file path or inline base64. A
 * file is opened as a ClientFile (a FIFO, device or pseudo-filesystem file is
 * refused, never read), read to at most the size limit plus one byte, and an
 * optional sha256 checksum is checked.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { invalid, limitExceeded } from '../errors.js';
import { ClientFile } from '../kernel/client-file.js';

/** Where the object comes from, as load_program's `source` says. */
export type ObjectSource =
  | { type: 'file'; path: string; checksum?: string }
  | { type: 'data'; blob: string; checksum?: string };

/** The bytes of an object and a name for it. */
export interface ObjectBytes {
  bytes: Uint8Array;
  name: string;
  sha256: string;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function readFile(path: string, maxBytes: number, allowed: (resolved: string) => void): Uint8Array {
  return ClientFile.with(path, 'source.path', (file) => {
    allowed(file.path);
    if (file.size > maxBytes) {
      throw limitExceeded(`${path} is ${file.size} bytes, over the ${maxBytes}-byte limit`, 'object_bytes', maxBytes, file.size, { path });
    }
    const bytes = file.readUpTo(maxBytes + 1);
    if (bytes.length > maxBytes) {
      throw limitExceeded(`${path} is over the ${maxBytes}-byte limit`, 'object_bytes', maxBytes, bytes.length, { path });
    }
    return bytes;
  });
}

function decodeBlob(blob: string, maxBytes: number): Uint8Array {
  const compact = blob.replace(/\s+/g, '');
  if (compact.length === 0) throw invalid('source.blob', 'is empty');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw invalid('source.blob', 'is not valid base64');
  const decodedSize = (compact.length / 4) * 3 - (compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0);
  if (decodedSize > maxBytes) {
    throw limitExceeded(`the object is ${decodedSize} bytes, over the ${maxBytes}-byte limit`, 'object_bytes', maxBytes, decodedSize);
  }
  return Buffer.from(compact, 'base64');
}

/**
 * Reads and checks an object: regular file or valid base64, within the size limit, an ELF, matching its
 * checksum. A file's resolved path (no symbolic links) goes to `allowed` before a byte of it is read.
 */
export function readObjectSource(source: ObjectSource, maxBytes: number, allowed: (resolved: string) => void = () => undefined): ObjectBytes & { path?: string } {
  let path: string | undefined;
  const bytes =
    source.type === 'file'
      ? readFile(source.path, maxBytes, (resolved) => {
          allowed(resolved);
          path = resolved;
        })
      : decodeBlob(source.blob, maxBytes);
  const field = source.type === 'file' ? 'source.path' : 'source.blob';
  if (bytes.length < ELF_MAGIC.length || ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw invalid(field, 'is not an ELF file (a BPF object is compiled with clang -target bpf)', { size: bytes.length });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (source.checksum !== undefined && source.checksum !== `sha256:${sha256}`) {
    throw invalid('source.checksum', `does not match the object (sha256:${sha256})`, { expected: source.checksum, actual: `sha256:${sha256}` });
  }
  const name = source.type === 'file' ? basename(source.path).replace(/\.(bpf\.)?o$/, '') : `blob_${sha256.slice(0, 8)}`;
  return { bytes, name: name.slice(0, 64) || 'object', sha256, ...(path !== undefined ? { path } : {}) };
}
