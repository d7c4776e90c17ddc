/**
 * How a record field is shown: recognised first from the `btf_decl_tag` its program put on the
 * member (or on a typedef of its type), then, for programs that say nothing, from well-known type
 * and member names. Both are tables: TAGS maps a tag to a rendering, NAME_RULES are tried in order
 * and the first whose every condition holds wins, REFINE narrows a rendering by the field's shape.
 */

/** How a field is rendered (see render.ts). */
export type RenderKind =
  | 'hidden'
  | 'ipv4'
  | 'ipv6'
  | 'ip'
  | 'port'
  | 'port_be'
  | 'family'
  | 'errno'
  | 'ret'
  | 'signal'
  | 'open_flags'
  | 'syscall'
  | 'duration_ns'
  | 'duration_us'
  | 'duration_ms';

/** What the rules see of one field (a struct member, or a whole map key or value with `name` ''). */
export interface FieldFacts {
  readonly name: string;
  /** Decl tags on the member and on the typedefs of its type. */
  readonly tags: readonly string[];
  /** Names met on the way to the field's type: typedefs, then the struct, union or int ("__be16", "__u16", "unsigned short"). */
  readonly typeNames: readonly string[];
  /** The field's shape: an integer (or enum) of `size` bytes, a byte array of `size` bytes, a struct or union, anything else. */
  readonly shape: 'int' | 'bytes' | 'composite' | 'other';
  readonly size: number;
  /** Name of the enclosing struct ('' at the top). */
  readonly record: string;
  /** The members of the enclosing struct, this one included. */
  readonly siblings: readonly Pick<FieldFacts, 'name' | 'tags' | 'typeNames'>[];
}

/** Tags a program can put on a field, and the rendering each asks for. */
export const TAGS: Readonly<Record<string, RenderKind>> = {
  hidden: 'hidden',
  ip: 'ip',
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  port: 'port',
  family: 'family',
  errno: 'errno',
  ret: 'ret',
  signal: 'signal',
  open_flags: 'open_flags',
  syscall: 'syscall',
  duration_ns: 'duration_ns',
  duration_us: 'duration_us',
  duration_ms: 'duration_ms',
};

const ADDRESS = /^((s|d|src|dst|local|remote|peer|l|r)_?)?(addr|ip)(_?v?[46])?$/;
const PORT = /^((s|d|src|dst|local|remote|peer|l|r|sin6?)_?)?port$/;
const FAMILY = /^(family|af|addr_family|sa_family|ss_family|sin6?_family)$/;
/** Names that end in _ns/_us/_ms but hold a point in time, not a duration. */
const TIMESTAMP = /(^|_)(ts|tstamp|timestamp)(_|$)|^(time|start|end|begin|ktime|boot|epoch|when|deadline|expire)/;

/** Whether a member is an address family: tagged so, named like one, or of type sa_family_t. */
export function isFamilyField(f: Pick<FieldFacts, 'name' | 'tags' | 'typeNames'>): boolean {
  return f.tags.includes('family') || FAMILY.test(f.name) || f.typeNames.includes('sa_family_t');
}

/** Facts about the enclosing record a rule may require. */
const CONTEXT = {
  /** A family field beside it, which says how to read an address. */
  family: (f: FieldFacts) => f.siblings.some((s) => s.name !== f.name && isFamilyField(s)),
  /** An open(2) record: named so, or carrying a file name. */
  open: (f: FieldFacts) => /open/i.test(f.record) || f.siblings.some((s) => /^(filename|fname|path|pathname)$/.test(s.name)),
  /** A syscall record. */
  syscall: (f: FieldFacts) => /sys/i.test(f.record),
  /** A syscall-exit record: its return value is a negative errno on failure. */
  exit: (f: FieldFacts) => /exit|ret/i.test(f.record),
} as const;

/** One fallback rule: every condition given must hold. */
interface NameRule {
  readonly render: RenderKind;
  readonly name?: RegExp;
  readonly notName?: RegExp;
  /** One of the type names on the way to the field's type. */
  readonly type?: RegExp;
  readonly shape?: FieldFacts['shape'];
  /** Sizes in bytes the field may have. */
  readonly sizes?: readonly number[];
  readonly context?: keyof typeof CONTEXT;
}

/** The fallback for fields without a tag, first match wins. */
export const NAME_RULES: readonly NameRule[] = [
  { render: 'hidden', name: /^(pad\d*|_+pad\w*|sin_zero)$/ },
  { render: 'ipv6', type: /^in6_addr$/, shape: 'composite' },
  { render: 'ipv4', type: /^in_addr$/, shape: 'composite' },
  { render: 'ipv4', name: ADDRESS, shape: 'bytes', sizes: [4], context: 'family' },
  { render: 'ipv4', name: ADDRESS, shape: 'int', sizes: [4], context: 'family' },
  { render: 'ip', name: ADDRESS, shape: 'bytes', sizes: [16], context: 'family' },
  { render: 'port_be', name: PORT, type: /^__be16$/ },
  { render: 'port', name: PORT, shape: 'int', sizes: [2, 4] },
  { render: 'family', name: FAMILY, shape: 'int' },
  { render: 'family', type: /^sa_family_t$/, shape: 'int' },
  { render: 'errno', name: /^(errno|err|error)$/, shape: 'int' },
  { render: 'ret', name: /^(ret|retval|rc)$/, shape: 'int', context: 'exit' },
  { render: 'signal', name: /^(sig|signal|signo|signum|sig_num)$/, shape: 'int' },
  { render: 'open_flags', name: /^(open_flags|oflags|o_flags)$/, shape: 'int' },
  { render: 'open_flags', name: /^flags$/, shape: 'int', context: 'open' },
  { render: 'syscall', name: /^(syscall|syscall_nr|syscall_id|sysno|sc_nr)$/, shape: 'int' },
  { render: 'syscall', name: /^(nr|id)$/, shape: 'int', context: 'syscall' },
  { render: 'duration_ns', name: /_ns$/, notName: TIMESTAMP, shape: 'int' },
  { render: 'duration_us', name: /_us$/, notName: TIMESTAMP, shape: 'int' },
  { render: 'duration_ms', name: /_ms$/, notName: TIMESTAMP, shape: 'int' },
];

/** Renderings narrowed by the field they land on, whichever way they were chosen. */
const REFINE: readonly { from: RenderKind; to: RenderKind; when: (f: FieldFacts) => boolean }[] = [
  { from: 'port', to: 'port_be', when: (f) => f.typeNames.includes('__be16') },
  { from: 'ip', to: 'ipv4', when: (f) => f.size === 4 },
  { from: 'ip', to: 'ipv6', when: (f) => !CONTEXT.family(f) },
];

/** Renderings that read an address or port from the field's own bytes, and the sizes they accept. */
const BYTE_SIZES: Partial<Record<RenderKind, readonly number[]>> = { ipv4: [4], ipv6: [16], ip: [16], port_be: [2] };

function matches(rule: NameRule, f: FieldFacts): boolean {
  return (
    (rule.name === undefined || rule.name.test(f.name)) &&
    (rule.notName === undefined || !rule.notName.test(f.name)) &&
    (rule.type === undefined || f.typeNames.some((n) => rule.type!.test(n))) &&
    (rule.shape === undefined || rule.shape === f.shape) &&
    (rule.sizes === undefined || rule.sizes.includes(f.size)) &&
    (rule.context === undefined || CONTEXT[rule.context](f))
  );
}

/**
 * How to render the field: the first known tag on it, else the first name rule that matches, then
 * narrowed by REFINE; undefined to leave it as decoded. A rendering that does not fit the field's
 * shape (an `ip` tag on a 2-byte field) is dropped.
 */
export function recognize(f: FieldFacts): RenderKind | undefined {
  const tag = f.tags.find((t) => Object.hasOwn(TAGS, t));
  let kind = tag === undefined ? NAME_RULES.find((r) => matches(r, f))?.render : TAGS[tag];
  if (kind === undefined) return undefined;
  for (const r of REFINE) if (r.from === kind && r.when(f)) kind = r.to;
  const sizes = BYTE_SIZES[kind];
  if (sizes && !sizes.includes(f.size)) return undefined;
  if (kind !== 'hidden' && !sizes && f.shape !== 'int') return undefined;
  return kind;
}
