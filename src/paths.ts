/** Where the package's own files are, wherever it is installed or run from. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (this file compiles to dist/src/paths.js). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The compiled native addon. */
export const NATIVE_ADDON = join(PACKAGE_ROOT, 'build', 'Release', 'ebpf_native.node');

/** Compiled BPF objects: catalog/ (bundled programs) and fixtures/ (tests). */
export const BPF_OBJECT_DIR = join(PACKAGE_ROOT, 'bpf', '.output');
