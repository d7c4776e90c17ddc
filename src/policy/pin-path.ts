/**
 * Where pins may go: only under the server's pin prefix on bpffs. A name is
 * relative to the prefix (or an absolute path inside it); `..`, empty parts,
 * odd characters and symbolic links are refused.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { invalid } from '../errors.js';

const PART = /^[A-Za-z0-9_.-]{1,64}$/;

/** The absolute pin path for `name`, after checking it stays under `prefix`. */
export function pinPath(prefix: string, name: string, field: string): string {
  const relative = name.startsWith('/') ? (name.startsWith(prefix + '/') ? name.slice(prefix.length + 1) : undefined) : name;
  if (relative === undefined) throw invalid(field, `must be under the pin prefix ${prefix}`, { pin_prefix: prefix });
  const parts = relative.split('/');
  if (parts.length > 8 || parts.some((p) => !PART.test(p) || p === '.' || p === '..')) {
    throw invalid(field, 'must be a relative name of up to 8 parts of letters, digits, "_", "-" and "." (no "..")', { pin_prefix: prefix });
  }
  const path = join(prefix, ...parts);
  // No part of the way down may be a symbolic link.
  for (let p = dirname(path); p.length >= prefix.length; p = dirname(p)) {
    if (lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) throw invalid(field, `${p} is a symbolic link`);
    if (p === prefix) break;
  }
  if (lstatSync(path, { throwIfNoEntry: false })) throw invalid(field, `${path} already exists`, { path });
  return path;
}

/** Creates the directories a pin path needs (bpffs allows directories). */
export function preparePinDirectory(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
}
