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

/** The compiled native addon. */
export const NATIVE_ADDON = join(PACKAGE_ROOT, 'build', 'Release', 'ebpf_native.node');

/** Compiled BPF objects: catalog/ (bundled programs) and fixtures/ (tests). */
export const BPF_OBJECT_DIR = join(PACKAGE_ROOT, 'bpf', '.output');

/** The bundled catalog's objects: operators may always load these. */
export const CATALOG_DIR = join(BPF_OBJECT_DIR, 'catalog');

/** The throwaway process that opens an untrusted object with libbpf before the server does. */
export const OPEN_PROBE = join(PACKAGE_ROOT, 'native', '.output', 'open-probe');
