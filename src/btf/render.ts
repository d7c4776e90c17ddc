/**
 * The render stage: a decoded record (compileDecoder's output) turned into values as people read
 * them: addresses as text, ports in host order, families, errno values, signals, open flags and
 * syscalls by name, durations with a unit beside their raw number, padding hidden. Which field gets
 * which rendering comes from recognize.ts; this module walks the BTF type once into a plan of the
 * fields that need work, renders records by it and rewrites the decoder's JSON Schema to match.
 * Addresses and network-order ports are read from the record's bytes, so they never depend on how
 * the decoder showed a byte array.
 */
import { AF_INET, errnoName, familyName, openFlagNames, signalName, syscallName } from './abi-names.js';
import { type FieldFacts, type RenderKind, isFamilyField, recognize } from './recognize.js';
import type { Btf } from './parse.js';
import type { JsonSchema } from './schema.js';
import type { BtfComposite } from './types.js';
import { durationText, ipv4Text, ipv6Text } from './value-text.js';

/** A field rendered in place; `byte` is its offset in the enclosing object, `family` the key of the family beside it. */
interface Leaf {
  readonly t: 'leaf';
  readonly kind: RenderKind;
  readonly byte: number;
  readonly family?: string;
  /** Where a duration's text goes, beside the raw number. */
  readonly text?: string;
}

/** A struct or union with fields that need work; `keys` are all its decoded keys in order (the others are copied). */
interface ObjectNode {
  readonly t: 'object';
  readonly byte: number;
  readonly keys: readonly string[];
  readonly fields: ReadonlyMap<string, Node>;
}

/** An array of structs with fields that need work. */
interface ArrayNode {
  readonly t: 'array';
  readonly byte: number;
  readonly stride: number;
  readonly elem: ObjectNode;
}

type Node = Leaf | ObjectNode | ArrayNode;

/** Renders one decoded value of a type, given the bytes it was decoded from. */
export interface Renderer {
  (value: unknown, bytes: Uint8Array, offset?: number): unknown;
  /** The JSON Schema of what the renderer returns, from the decoder's schema of the same type. */
  schema(decoded: JsonSchema): JsonSchema;
}

const MAX_DEPTH = 8;
/** Renderings read from the field's bytes rather than its decoded value. */
const FROM_BYTES: ReadonlySet<RenderKind> = new Set(['ipv4', 'ipv6', 'ip', 'port_be']);
const DURATION_SCALE: Partial<Record<RenderKind, number>> = { duration_ns: 1, duration_us: 1e3, duration_ms: 1e6 };

/** Names on the way from `id` to the type behind its typedefs and qualifiers, and the decl tags of those typedefs. */
function typeChain(btf: Btf, id: number): { names: string[]; tags: string[] } {
  const names: string[] = [];
  const tags: string[] = [];
  for (let t = btf.type(id), n = 0; n < 32; t = btf.type((t as { type: number }).type), n++) {
    if (t.name) names.push(t.name);
    tags.push(...btf.declTags(t.id));
    if (!['typedef', 'const', 'volatile', 'restrict', 'type_tag'].includes(t.kind)) break;
  }
  return { names, tags };
}

/** The shape and size recognize() needs. */
function shapeOf(btf: Btf, id: number): Pick<FieldFacts, 'shape' | 'size'> {
  const t = btf.resolve(id);
  if (t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64') return { shape: 'int', size: t.size };
  if (t.kind === 'struct' || t.kind === 'union') return { shape: 'composite', size: t.size };
  if (t.kind === 'array') {
    const e = btf.resolve(t.type);
    if (e.kind === 'int' && e.size === 1) return { shape: 'bytes', size: t.nelems };
  }
  return { shape: 'other', size: 0 };
}

/** A member as the decoder names it (anonymous structs and unions flattened in), with its byte offset and own tags. */
interface FlatMember {
  name: string;
  type: number;
  byte: number;
  bitfield: boolean;
  tags: readonly string[];
}

function flatten(btf: Btf, t: BtfComposite, base: number, out: FlatMember[], depth: number): FlatMember[] {
  t.members.forEach((m, i) => {
    const inner = btf.resolve(m.type);
    const byte = base + Math.floor(m.bitOffset / 8);
    if (m.name === '') {
      if ((inner.kind === 'struct' || inner.kind === 'union') && depth < MAX_DEPTH) flatten(btf, inner, byte, out, depth + 1);
      return;
    }
    out.push({ name: m.name, type: m.type, byte, bitfield: m.bitfieldSize > 0 || m.bitOffset % 8 !== 0, tags: btf.declTags(t.id, i) });
  });
  return out;
}

/** What planning one type shares: each struct's plan once (a kernel struct is met by many paths), and a bound on the members looked at. */
interface Planning {
  readonly btf: Btf;
  readonly done: Map<number, Omit<ObjectNode, 'byte'> | null>;
  membersLeft: number;
}

/** Members looked at while planning one type at most: far above any record, it bounds a kernel struct's walk. */
const MAX_PLAN_MEMBERS = 1 << 14;

/** The plan of a struct or union at `byte`: undefined when none of its fields needs work. */
function objectNode(ctx: Planning, t: BtfComposite, byte: number, depth: number): ObjectNode | undefined {
  let plan = ctx.done.get(t.id);
  if (plan === undefined) {
    plan = planObject(ctx, t, depth) ?? null;
    ctx.done.set(t.id, plan);
  }
  return plan ? { ...plan, byte } : undefined;
}

function planObject(ctx: Planning, t: BtfComposite, depth: number): Omit<ObjectNode, 'byte'> | undefined {
  const { btf } = ctx;
  const members = flatten(btf, t, 0, [], depth);
  ctx.membersLeft -= members.length;
  if (ctx.membersLeft < 0) return undefined;
  const chains = members.map((m) => typeChain(btf, m.type));
  const siblings = members.map((m, i) => ({ name: m.name, tags: [...m.tags, ...chains[i]!.tags], typeNames: chains[i]!.names }));
  const family = siblings.find(isFamilyField)?.name;
  const taken = new Set(members.map((m) => m.name));
  const fields = new Map<string, Node>();
  members.forEach((m, i) => {
    const facts: FieldFacts = { ...siblings[i]!, ...shapeOf(btf, m.type), record: t.name, siblings };
    const found = recognize(facts);
    // A bitfield has no bytes of its own to read an address or a network-order port from.
    const kind = found !== undefined && m.bitfield && FROM_BYTES.has(found) ? undefined : found;
    if (kind !== undefined) {
      const text = DURATION_SCALE[kind] === undefined ? undefined : durationKey(m.name, taken);
      if (text) taken.add(text);
      fields.set(m.name, { t: 'leaf', kind, byte: m.byte, ...(kind === 'ip' && family ? { family } : {}), ...(text ? { text } : {}) });
      return;
    }
    const node = depth < MAX_DEPTH ? nestedNode(ctx, m.type, m.byte, depth + 1) : undefined;
    if (node) fields.set(m.name, node);
  });
  return fields.size ? { t: 'object', keys: [...new Set(members.map((m) => m.name))], fields } : undefined;
}

/** The plan of a struct member that is itself a struct or an array of structs. */
function nestedNode(ctx: Planning, id: number, byte: number, depth: number): Node | undefined {
  const t = ctx.btf.resolve(id);
  if (t.kind === 'struct' || t.kind === 'union') return objectNode(ctx, t, byte, depth);
  if (t.kind !== 'array') return undefined;
  const e = ctx.btf.resolve(t.type);
  if (e.kind !== 'struct' && e.kind !== 'union') return undefined;
  const elem = objectNode(ctx, e, 0, depth);
  return elem && { t: 'array', byte, stride: e.size, elem };
}

/** Where a duration's text goes: its name without the unit ("latency" for latency_ns), unless taken. */
function durationKey(name: string, taken: ReadonlySet<string>): string {
  const bare = name.replace(/_(ns|us|ms)$/, '');
  return bare && !taken.has(bare) ? bare : `${name}_text`;
}

/** The plan of a whole value of type `id`: the value itself when it is recognised (a tagged typedef, an in6_addr key), else its fields. */
function planOf(btf: Btf, id: number): Node | undefined {
  const chain = typeChain(btf, id);
  const kind = recognize({ name: '', tags: chain.tags, typeNames: chain.names, ...shapeOf(btf, id), record: '', siblings: [] });
  if (kind !== undefined && kind !== 'hidden') return { t: 'leaf', kind, byte: 0 };
  return nestedNode({ btf, done: new Map(), membersLeft: MAX_PLAN_MEMBERS }, id, 0, 0);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

/** One rendered value, from its decoded form `v` and its bytes at `p`; `obj` is the decoded object holding it. */
function leafValue(leaf: Leaf, v: unknown, b: Uint8Array, p: number, obj: Record<string, unknown> | undefined): unknown {
  const n = num(v);
  switch (leaf.kind) {
    case 'ipv4':
      return ipv4Text(b, p);
    case 'ipv6':
      return ipv6Text(b, p);
    case 'ip': {
      const f = leaf.family === undefined ? undefined : obj?.[leaf.family];
      return f === AF_INET || f === 'AF_INET' ? ipv4Text(b, p) : ipv6Text(b, p);
    }
    case 'port_be':
      return (b[p]! << 8) | b[p + 1]!;
    case 'family':
      return (n !== undefined && familyName(n)) || v;
    case 'errno':
      return (n !== undefined && n !== 0 && (n < 0 ? signedName(n) : errnoName(n))) || v;
    case 'ret':
      return (n !== undefined && n < 0 && signedName(n)) || v;
    case 'signal':
      return (n !== undefined && n > 0 && signalName(n)) || v;
    case 'open_flags':
      return (n !== undefined && openFlagNames(n)) || v;
    case 'syscall':
      return (n !== undefined && syscallName(n)) || v;
    default:
      return v;
  }
}

/** A negative errno as "-ENOENT", or undefined without a name. */
function signedName(n: number): string | undefined {
  const name = errnoName(-n);
  return name && `-${name}`;
}

/** A decoded value that is not an object (a decode quirk) is passed through unrendered. */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An array's elements rendered by `elem`, `stride` bytes apart from `p`. */
function eachElement(elem: (v: unknown, b: Uint8Array, p: number) => unknown, v: unknown, b: Uint8Array, p: number, stride: number): unknown {
  return Array.isArray(v) ? v.map((e, i) => elem(e, b, p + i * stride)) : v;
}

/** A duration's text from its decoded number in units of `scale` ns, or null when it is not a number. */
function durationOf(v: unknown, scale: number): string | null {
  const n = num(v);
  return n === undefined ? null : durationText(n * scale);
}

/**
 * Generates the renderer's JavaScript, as decode.ts does for the decoder: one object literal per
 * struct, so a record is rendered in one pass with a fixed shape. Keys reach the source only as
 * JSON string literals; leaves are called through `L`, nested renderers are named functions.
 */
class RenderGen {
  readonly fns: string[] = [];
  readonly leaves: ((v: unknown, b: Uint8Array, p: number, obj: Record<string, unknown>) => unknown)[] = [];

  /** The name of a generated function rendering `node` from (value, bytes, offset). */
  fn(node: Node): string {
    const index = this.fns.push('') - 1;
    const name = `r${index}`;
    if (node.t === 'array') {
      this.fns[index] = `function ${name}(v, b, p) { return E(${this.fn(node.elem)}, v, b, p, ${node.stride}); }`;
      return name;
    }
    if (node.t === 'leaf') {
      this.fns[index] = `function ${name}(v, b, p) { return L[${this.leaf(node)}](v, b, p, undefined); }`;
      return name;
    }
    const parts: string[] = [];
    for (const key of node.keys) {
      const k = JSON.stringify(key);
      const prop = key === '__proto__' ? '["__proto__"]' : k;
      const f = node.fields.get(key);
      if (f === undefined) parts.push(`${prop}: s[${k}]`);
      else if (f.t === 'leaf' && f.kind === 'hidden') continue;
      else if (f.t === 'leaf') {
        parts.push(`${prop}: L[${this.leaf(f)}](s[${k}], b, p + ${f.byte}, s)`);
        if (f.text) parts.push(`${JSON.stringify(f.text)}: D(s[${k}], ${DURATION_SCALE[f.kind]})`);
      } else if (f.t === 'object') parts.push(`${prop}: ${this.fn(f)}(s[${k}], b, p + ${f.byte})`);
      else parts.push(`${prop}: E(${this.fn(f.elem)}, s[${k}], b, p + ${f.byte}, ${f.stride})`);
    }
    this.fns[index] = `function ${name}(s, b, p) {
  if (!O(s)) return s;
  return {${parts.join(', ')}};
}`;
    return name;
  }

  private leaf(leaf: Leaf): number {
    return this.leaves.push((v, b, p, obj) => leafValue(leaf, v, b, p, obj)) - 1;
  }
}

/** The schema of a rendered leaf, from the decoder's schema of the field. */
function leafSchema(kind: RenderKind, decoded: JsonSchema): JsonSchema {
  const description = decoded.description;
  const base = { ...(description ? { description } : {}), 'x-render': kind };
  switch (kind) {
    case 'ipv4':
    case 'ipv6':
      return { type: 'string', format: kind, ...base };
    case 'ip':
      return { type: 'string', ...base, description: `${description ?? 'address'}: IPv4 or IPv6 text by the family field` };
    case 'port':
    case 'port_be':
      return { type: 'integer', minimum: 0, maximum: 65535, ...base, 'x-render': 'port' };
    case 'duration_ns':
    case 'duration_us':
    case 'duration_ms':
      return { ...decoded, 'x-render': kind };
    default:
      return { type: ['string', 'integer'], ...base };
  }
}

function schemaOf(node: Node, decoded: JsonSchema): JsonSchema {
  if (node.t === 'leaf') return leafSchema(node.kind, decoded);
  if (node.t === 'array') return decoded.items ? { ...decoded, items: schemaOf(node.elem, decoded.items) } : decoded;
  const props = decoded.properties ?? {};
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, sub] of Object.entries(props)) {
    const f = node.fields.get(key);
    if (f?.t === 'leaf' && f.kind === 'hidden') continue;
    properties[key] = f ? schemaOf(f, sub) : sub;
    if (decoded.required?.includes(key)) required.push(key);
    if (f?.t === 'leaf' && f.text) {
      properties[f.text] = { type: 'string', description: `${key} with a unit`, 'x-render': 'duration' };
      required.push(f.text);
    }
  }
  return { ...decoded, properties, required };
}

/**
 * The renderer of values of BTF type `typeId`, or undefined when nothing in the type needs
 * rendering (its decoded values are already the readable ones). Call it with a decoded value, the
 * bytes it was decoded from and their offset.
 */
export function compileRenderer(btf: Btf, typeId: number): Renderer | undefined {
  const plan = planOf(btf, typeId);
  if (!plan) return undefined;
  const gen = new RenderGen();
  const top = gen.fn(plan);
  const source = `"use strict";
${gen.fns.join('\n')}
return ${top};`;
  const make = new Function('L', 'O', 'E', 'D', source) as (...helpers: unknown[]) => (v: unknown, b: Uint8Array, p: number) => unknown;
  const render = make(gen.leaves, isObject, eachElement, durationOf);
  return Object.assign((value: unknown, bytes: Uint8Array, offset = 0) => render(value, bytes, offset), { schema: (decoded: JsonSchema) => schemaOf(plan, decoded) });
}
