/** Paths of the compiled BPF test fixtures and catalog objects. */
import { join } from 'node:path';
import { BPF_OBJECT_DIR, PACKAGE_ROOT } from '../../src/paths.js';

/** A compiled fixture from bpf/fixtures/<name>.bpf.c. */
export function fixture(name: string): string {
  return join(BPF_OBJECT_DIR, 'fixtures', `${name}.bpf.o`);
}

/** A compiled catalog object from bpf/catalog/<name>.bpf.c. */
export function catalogObject(name: string): string {
  return join(BPF_OBJECT_DIR, 'catalog', `${name}.bpf.o`);
}

/** The server executable. */
export const SERVER_BIN = join(PACKAGE_ROOT, 'bin', 'ebpf-mcp-server');
