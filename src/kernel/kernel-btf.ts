/**
 * The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed once on first
 * use: the source of truth for enum values such as helper ids and type numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Btf, parseBtf } from '../btf/index.js';
import { ToolError } from '../errors.js';
import { ObjKind, native } from './native.js';
import { withObjectFd } from './object-fd.js';

/** Where the kernel publishes its BTF. */
export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

let vmlinux: Btf | null | undefined;

/** The kernel's BTF, or null when this kernel has none. */
export function kernelBtf(): Btf | null {
  if (vmlinux === undefined) vmlinux = existsSync(VMLINUX_BTF) ? parseBtf(readFileSync(VMLINUX_BTF)) : null;
  return vmlinux;
}

/** Enumerators of a kernel enum by name (empty without kernel BTF). */
export function kernelEnum(name: string): Map<string, number> {
  const btf = kernelBtf();
  const out = new Map<string, number>();
  if (!btf) return out;
  const type = btf.findByName(name, 'enum') ?? btf.findByName(name, 'enum64');
  for (const { name: enumerator, value } of type?.values ?? []) out.set(enumerator, Number(value));
  return out;
}

const byId = new Map<number, Btf>();

/** A BTF object the kernel holds (a program's or map's), parsed once per id. */
export function btfById(id: number): Btf {
  let btf = byId.get(id);
  if (!btf) {
    const info = withObjectFd(ObjKind.Btf, id, (fd) => native.btfInfo(fd));
    if (!info) throw new ToolError('SYSTEM_ERROR', `BTF object ${id} is gone`, { btf_id: id });
    // Module BTF is split over vmlinux; a program's own BTF stands alone.
    btf = parseBtf(info.data, info.kernelBtf && info.name !== 'vmlinux' ? (kernelBtf() ?? undefined) : undefined);
    byId.set(id, btf);
  }
  return btf;
}

/** The kernel function a BTF-typed link (fentry, fexit, ...) targets, when the target is in vmlinux's BTF. */
export function vmlinuxTypeName(btfObjId: number, typeId: number): string | undefined {
  const isVmlinux = withObjectFd(ObjKind.Btf, btfObjId, (fd) => native.btfInfo(fd).name === 'vmlinux');
  return isVmlinux ? kernelBtf()?.name(typeId) : undefined;
}
