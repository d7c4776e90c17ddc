/**
 * The BTF type model: one plain, immutable object per type id, mirroring the kernel's raw format
 * (Documentation/bpf/btf.rst) with names resolved to strings and flags decoded to fields.
 */

/** Every BTF kind, plus `void` for type id 0. */
export type BtfKind =
  | 'void'
  | 'int'
  | 'ptr'
  | 'array'
  | 'struct'
  | 'union'
  | 'enum'
  | 'fwd'
  | 'typedef'
  | 'volatile'
  | 'const'
  | 'restrict'
  | 'func'
  | 'func_proto'
  | 'var'
  | 'datasec'
  | 'float'
  | 'decl_tag'
  | 'type_tag'
  | 'enum64';

/** Kind names indexed by the raw BTF_KIND_* number (0 is void/unknown). */
export const BTF_KINDS: readonly BtfKind[] = [
  'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
];

/** Fields every type has: its id, kind and name ('' when anonymous). */
interface BtfTypeBase {
  readonly id: number;
  readonly name: string;
}

/** Type id 0: `void`. */
export interface BtfVoid extends BtfTypeBase {
  readonly kind: 'void';
}

/** An integer (BTF_KIND_INT): `bits` wide, starting `bitOffset` bits into its `size` bytes. */
export interface BtfInt extends BtfTypeBase {
  readonly kind: 'int';
  readonly size: number;
  readonly bits: number;
  readonly bitOffset: number;
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
}

/** A pointer to `type` (0 for `void *`). */
export interface BtfPtr extends BtfTypeBase {
  readonly kind: 'ptr';
  readonly type: number;
}

/** `type[nelems]`, indexed by `indexType`. */
export interface BtfArray extends BtfTypeBase {
  readonly kind: 'array';
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}

/** A struct or union member; `bitfieldSize` is 0 for a plain member. */
export interface BtfMember {
  readonly name: string;
  readonly type: number;
  readonly bitOffset: number;
  readonly bitfieldSize: number;
}

/** A struct or union of `size` bytes. */
export interface BtfComposite extends BtfTypeBase {
  readonly kind: 'struct' | 'union';
  readonly size: number;
  readonly members: readonly BtfMember[];
}

/** One enumerator; `value` is exact (a bigint) for both ENUM and ENUM64. */
export interface BtfEnumValue {
  readonly name: string;
  readonly value: bigint;
}

/** An enum of `size` bytes (BTF_KIND_ENUM: 32-bit values; BTF_KIND_ENUM64: 64-bit values). */
export interface BtfEnum extends BtfTypeBase {
  readonly kind: 'enum' | 'enum64';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}

/** A forward declaration of a struct or union. */
export interface BtfFwd extends BtfTypeBase {
  readonly kind: 'fwd';
  readonly fwdKind: 'struct' | 'union';
}

/** A type that only names or qualifies another: typedef, volatile, const, restrict. */
export interface BtfModifier extends BtfTypeBase {
  readonly kind: 'typedef' | 'volatile' | 'const' | 'restrict';
  readonly type: number;
}

/** A type tag (`__attribute__((btf_type_tag))`); `attribute` is the kind_flag form (a plain attribute). */
export interface BtfTypeTag extends BtfTypeBase {
  readonly kind: 'type_tag';
  readonly type: number;
  readonly attribute: boolean;
}

/** Linkage of a function or variable. */
export type BtfLinkage = 'static' | 'global' | 'extern';

/** A function: `type` is its func_proto. */
export interface BtfFunc extends BtfTypeBase {
  readonly kind: 'func';
  readonly type: number;
  readonly linkage: BtfLinkage;
}

/** One parameter of a function prototype; a last `{name: '', type: 0}` means `...`. */
export interface BtfParam {
  readonly name: string;
  readonly type: number;
}

/** A function prototype: return type `type` (0 for void) and parameters. */
export interface BtfFuncProto extends BtfTypeBase {
  readonly kind: 'func_proto';
  readonly type: number;
  readonly params: readonly BtfParam[];
}

/** A global or static variable of `type`. */
export interface BtfVar extends BtfTypeBase {
  readonly kind: 'var';
  readonly type: number;
  readonly linkage: BtfLinkage;
}

/** One variable of a data section: its VAR type id, byte offset and size. */
export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** A data section (.data, .bss, .rodata, .maps, ...) of `size` bytes. */
export interface BtfDatasec extends BtfTypeBase {
  readonly kind: 'datasec';
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

/** A floating-point type of `size` bytes. */
export interface BtfFloat extends BtfTypeBase {
  readonly kind: 'float';
  readonly size: number;
}

/**
 * A declaration tag on `type`; `componentIdx` is -1 for the type itself, else the member or
 * parameter index. `attribute` is the kind_flag form (a plain attribute).
 */
export interface BtfDeclTag extends BtfTypeBase {
  readonly kind: 'decl_tag';
  readonly type: number;
  readonly componentIdx: number;
  readonly attribute: boolean;
}

/** Any BTF type, discriminated by `kind`. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfModifier
  | BtfTypeTag
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;
