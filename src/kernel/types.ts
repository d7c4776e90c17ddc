/**
 * Names for the kernel's type numbers (program, map, attach and link
 * types). libbpf names the types it knows; newer ones are named from the
 * running kernel's own BTF enums, so nothing here is a list from memory.
 */
import { kernelEnum } from './kernel-btf.js';
import { native, TypeNameKind } from './native.js';

const ENUMS: Record<TypeNameKind, { name: string; prefix: string }> = {
  [TypeNameKind.Prog]: { name: 'bpf_prog_type', prefix: 'BPF_PROG_TYPE_' },
  [TypeNameKind.Map]: { name: 'bpf_map_type', prefix: 'BPF_MAP_TYPE_' },
  [TypeNameKind.Attach]: { name: 'bpf_attach_type', prefix: 'BPF_' },
  [TypeNameKind.Link]: { name: 'bpf_link_type', prefix: 'BPF_LINK_TYPE_' },
};

const cache = new Map<TypeNameKind, Map<number, string>>();

/** Every value of one type namespace the kernel or libbpf knows, with its name. */
export function typeNames(kind: TypeNameKind): Map<number, string> {
  let names = cache.get(kind);
  if (names) return names;
  names = new Map();
  const { name, prefix } = ENUMS[kind];
  for (const [enumerator, value] of kernelEnum(name)) {
    if (!enumerator.startsWith(prefix) || enumerator.startsWith('__') || /MAX_/.test(enumerator)) continue;
    names.set(value, native.typeName(kind, value) ?? enumerator.slice(prefix.length).toLowerCase());
  }
  for (let value = 0; value < 256; value++) {
    const libbpfName = native.typeName(kind, value);
    if (libbpfName === null) break;
    names.set(value, libbpfName);
  }
  cache.set(kind, names);
  return names;
}

/** The name of one type value; `unknown_<n>` when neither libbpf nor the kernel names it. */
export function typeName(kind: TypeNameKind, value: number): string {
  return typeNames(kind).get(value) ?? `unknown_${value}`;
}

/** The value of a type name, matched case-insensitively with or without the enum prefix. */
export function typeValue(kind: TypeNameKind, name: string): number | undefined {
  const wanted = name.toLowerCase().replace(ENUMS[kind].prefix.toLowerCase(), '');
  for (const [value, known] of typeNames(kind)) if (known === wanted) return value;
  return undefined;
}

/** The kernel's number for a program type name, or undefined when it has no such type. */
export const programTypeValue = (name: string): number | undefined => typeValue(TypeNameKind.Prog, name);

/** The canonical name of a program type given as the kernel or libbpf spells it (any case, with or without BPF_PROG_TYPE_). */
export function canonicalProgramType(name: string): string | undefined {
  const value = programTypeValue(name);
  return value === undefined ? undefined : progTypeName(value);
}

/** Every program type name this kernel knows. */
export const programTypeNames = (): string[] => [...typeNames(TypeNameKind.Prog).values()];

/** Every attach type name this kernel knows. */
export const attachTypeNames = (): string[] => [...typeNames(TypeNameKind.Attach).values()];

/** Program type name for a number. */
export const progTypeName = (t: number): string => typeName(TypeNameKind.Prog, t);
/** Map type name for a number. */
export const mapTypeName = (t: number): string => typeName(TypeNameKind.Map, t);
/** Attach type name for a number. */
export const attachTypeName = (t: number): string => typeName(TypeNameKind.Attach, t);
/** Link type name for a number. */
export const linkTypeName = (t: number): string => typeName(TypeNameKind.Link, t);
