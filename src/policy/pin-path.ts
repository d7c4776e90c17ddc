/**
 * Where pins may go: only under the server's pin prefix on bpffs. A name is
 * relative to the prefix (or an absolute path inside it); `..`, empty parts,
 * odd characters and symbolic links (on the way down, or the pin itself) are
 * refused.
 */
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { invalid } from '../errors.js';

const PART = /^[A-Za-z0-9_.-]{1,64}$/;

/** The absolute path for `name` under `prefix`, with every directory on the way down checked not to be a symbolic link. */
function underPrefix(prefix: string, name: string, field: string): string {
  const relative = name.startsWith('/') ? (name.startsWith(prefix + '/') ? name.slice(prefix.length + 1) : undefined) : name;
  if (relative === undefined) throw invalid(field, `must be under the pin prefix ${prefix}`, { pin_prefix: prefix });
  const parts = relative.split('/');
  if (parts.length > 8 || parts.some((p) => !PART.test(p) || p === '.' || p === '..')) {
    throw invalid(field, 'must be a relative name of up to 8 parts of letters, digits, "_", "-" and "." (no "..")', { pin_prefix: prefix });
  }
  const path = join(prefix, ...parts);
  for (let p = dirname(path); p.length >= prefix.length; p = dirname(p)) {
    if (lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) throw invalid(field, `${p} is a symbolic link`);
    if (p === prefix) break;
  }
  return path;
}

/** The absolute pin path for a new pin `name`, after checking it stays under `prefix` and nothing is there yet. */
export function pinPath(prefix: string, name: string, field: string): string {
  const path = underPrefix(prefix, name, field);
  if (lstatSync(path, { throwIfNoEntry: false })) throw invalid(field, `${path} already exists`, { path });
  return path;
}

/** The absolute path of an existing pin `name` under `prefix`: not a symbolic link, and resolving inside the prefix. */
export function existingPinPath(prefix: string, name: string, field: string): string {
  const path = underPrefix(prefix, name, field);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) throw invalid(field, `nothing is pinned at ${path}`, { path });
  if (st.isSymbolicLink()) throw invalid(field, `${path} is a symbolic link`, { path });
  const root = realpathSync(prefix);
  if (!realpathSync(path).startsWith(root + '/')) throw invalid(field, `${path} resolves outside the pin prefix ${prefix}`, { path, pin_prefix: prefix });
  return path;
}

/** Creates the directories a pin path needs (bpffs allows directories). */
export function preparePinDirectory(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
}
