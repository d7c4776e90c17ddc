/** Where the package's own files are, wherever it is installed or run from. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory above this module holding the ebpf-mcp package.json (compiled or bundled alike). */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ebpf-mcp') return dir;
    if (dirname(dir) === dir) throw new Error('ebpf-mcp: cannot find the package root above ' + fileURLToPath(import.meta.url));
  }
}

/** The package root. */
export const PACKAGE_ROOT = packageRoot();

/**
 * The installed package's prebuilt native files for this platform and architecture (`make pack` puts them there):
 * the addon, which uses N-API only, so one build serves every Node from 20 on, and the object probe.
 */
export const PREBUILD_DIR = join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`);

/** The native addon as built here (`make build`, or `npm rebuild` in an installed package). */
export const NATIVE_ADDON = join(PACKAGE_ROOT, 'build', 'Release', 'ebpf_native.node');

/** Where the native addon may be, in the order it is tried: the prebuilt, then the one built here. */
export const NATIVE_ADDON_CANDIDATES: readonly string[] = [join(PREBUILD_DIR, 'ebpf_native.node'), NATIVE_ADDON];

/** Compiled BPF objects: catalog/ (bundled programs) and fixtures/ (tests), and abi_names.json. */
export const BPF_OBJECT_DIR = join(PACKAGE_ROOT, 'bpf', '.output');

/** The bundled catalog's objects: operators may always load these. */
export const CATALOG_DIR = join(BPF_OBJECT_DIR, 'catalog');

/** The throwaway process that opens an untrusted object with libbpf before the server does, as built here. */
export const OPEN_PROBE = join(PACKAGE_ROOT, 'native', '.output', 'open-probe');

/** The same, prebuilt with the prebuilt addon (src/kernel/open-probe.ts runs the one that matches the addon loaded). */
export const PREBUILT_OPEN_PROBE = join(PREBUILD_DIR, 'open-probe');
