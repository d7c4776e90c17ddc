/**
 * Where an operator may load objects from: the bundled catalog, the policy's
 * allowed directories (both compared as resolved paths, so a symbolic link
 * cannot lead out of them) and, when the policy lists digests, only objects
 * of those. An admin may load any object.
 */
import { realpathSync } from 'node:fs';
import { CATALOG_DIR } from '../paths.js';
import type { Access } from './access.js';

/** The catalog directory resolved, or undefined when it is not built. */
function catalogDir(): string | undefined {
  try {
    return realpathSync(CATALOG_DIR);
  } catch {
    return undefined;
  }
}

/** Whether the resolved `path` is inside the resolved directory `dir`. */
const inside = (path: string, dir: string): boolean => path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** Whether a resolved path is one of the catalog's objects. */
export function isCatalogObject(resolved: string): boolean {
  const dir = catalogDir();
  return dir !== undefined && inside(resolved, dir);
}

/** The directories an operator may load from: the catalog's, then the policy's. */
export function allowedSourceDirs(access: Access): string[] {
  const dir = catalogDir();
  return [...(dir ? [dir] : []), ...access.policy.sources.allowedDirs];
}

/** Refuses a file (its resolved path) outside the allowed directories, unless the role may load any. */
export function checkSourcePath(access: Access, resolved: string): void {
  if (access.has('any_source')) return;
  const dirs = allowedSourceDirs(access);
  if (dirs.some((d) => inside(resolved, d))) return;
  throw access.denial('policy.sources.allowed_dirs', 'source.path', `loading ${resolved} (outside the allowed directories)`, { path: resolved, allowed_dirs: dirs });
}

/** Refuses an object whose sha256 the policy's list lacks, unless it is from the catalog or the role may load any. */
export function checkSourceDigest(access: Access, sha256: string, resolved: string | undefined): void {
  const list = access.policy.sources.allowedSha256;
  if (list === null || access.has('any_source') || (resolved !== undefined && isCatalogObject(resolved)) || list.includes(sha256)) return;
  throw access.denial('policy.sources.allowed_sha256', 'source', `loading an object of sha256 ${sha256}`, { sha256, allowed_sha256: list.length });
}
