/**
 * Readable names for mangled C++ (Itanium ABI) and Rust (legacy) symbols, as
 * a flame graph shows them: the qualified name with its template arguments,
 * without the parameter list (`std::vector<int>::push_back`). A name this
 * does not understand is returned as it is, so a frame is never wrong, at
 * worst mangled. Rust's v0 scheme (`_R...`) is returned as it is too.
 */

/** Builtin types by their one-letter code. */
const BUILTIN: Record<string, string> = {
  v: 'void', w: 'wchar_t', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short', t: 'unsigned short',
  i: 'int', j: 'unsigned int', l: 'long', m: 'unsigned long', x: 'long long', y: 'unsigned long long', n: '__int128',
  o: 'unsigned __int128', f: 'float', d: 'double', e: 'long double', g: '__float128', z: '...',
};

/** The std:: abbreviations. */
const ABBREVIATIONS: Record<string, string> = {
  St: 'std', Sa: 'std::allocator', Sb: 'std::basic_string', Ss: 'std::string', Si: 'std::istream', So: 'std::ostream', Sd: 'std::iostream',
};

/** Operator names by their two-letter code (the common ones). */
const OPERATORS: Record<string, string> = {
  nw: 'new', na: 'new[]', dl: 'delete', da: 'delete[]', ps: '+', ng: '-', ad: '&', de: '*', co: '~', pl: '+', mi: '-', ml: '*', dv: '/',
  rm: '%', an: '&', or: '|', eo: '^', aS: '=', pL: '+=', mI: '-=', mL: '*=', dV: '/=', rM: '%=', aN: '&=', oR: '|=', eO: '^=', ls: '<<',
  rs: '>>', lS: '<<=', rS: '>>=', eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=', ss: '<=>', nt: '!', aa: '&&', oo: '||',
  pp: '++', mm: '--', cm: ',', pm: '->*', pt: '->', cl: '()', ix: '[]',
};

/** Thrown inside the parser when the input is not in the subset it reads. */
class Unsupported extends Error {}

/** A recursive-descent reader of the Itanium grammar's names and the types template arguments use. */
class Itanium {
  private at = 0;
  /** Substitution candidates, in the order the grammar adds them. */
  private readonly subs: string[] = [];

  constructor(private readonly s: string) {}

  private peek(n = 0): string {
    return this.s[this.at + n] ?? '';
  }

  private take(prefix: string): boolean {
    if (!this.s.startsWith(prefix, this.at)) return false;
    this.at += prefix.length;
    return true;
  }

  private fail(): never {
    throw new Unsupported();
  }

  /** The function or object name of an encoding; the parameter types after it are not read. */
  encoding(): string {
    return this.name();
  }

  private number(): number {
    const m = /^\d+/.exec(this.s.slice(this.at));
    if (!m) this.fail();
    this.at += m[0].length;
    return Number(m[0]);
  }

  private sourceName(): string {
    const n = this.number();
    if (n === 0 || this.at + n > this.s.length) this.fail();
    const id = this.s.slice(this.at, (this.at += n));
    return id.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : id;
  }

  /** A component: source name, constructor or destructor (named after `last`), operator, or a lambda. */
  private unqualified(last: string): string {
    const c = this.peek();
    if (c >= '0' && c <= '9') return this.sourceName();
    if (c === 'C' && /[1-5]/.test(this.peek(1))) return (this.at += 2), last.replace(/<.*$/, '');
    if (c === 'D' && /[0-5]/.test(this.peek(1))) return (this.at += 2), `~${last.replace(/<.*$/, '')}`;
    if (this.take('Ut')) return this.discriminated('{unnamed type');
    if (this.take('Ul')) {
      while (!this.take('E')) this.type();
      return this.discriminated('{lambda');
    }
    if (this.take('L')) return this.sourceName();
    const op = OPERATORS[this.s.slice(this.at, this.at + 2)];
    if (op) return (this.at += 2), `operator${op}`;
    if (this.take('cv')) return `operator ${this.type()}`;
    return this.fail();
  }

  /** `{lambda#N}`: the optional number before `_` counts from 2. */
  private discriminated(what: string): string {
    const n = this.peek() === '_' ? 1 : this.number() + 2;
    if (!this.take('_')) this.fail();
    return `${what}#${n}}`;
  }

  /** A `S_`, `S<seq>_` or std abbreviation; undefined when the next token is not one. */
  private substitution(): string | undefined {
    const abbreviation = ABBREVIATIONS[this.s.slice(this.at, this.at + 2)];
    if (abbreviation) return (this.at += 2), abbreviation;
    const m = /^S([0-9A-Z]*)_/.exec(this.s.slice(this.at));
    if (!m) return undefined;
    this.at += m[0].length;
    const index = m[1] === '' ? 0 : parseInt(m[1] as string, 36) + 1;
    return this.subs[index] ?? this.fail();
  }

  private name(): string {
    if (this.take('N')) return this.nested();
    if (this.take('Z')) {
      const outer = this.encoding();
      while (this.at < this.s.length && this.peek() !== 'E') this.type();
      if (!this.take('E')) this.fail();
      this.take('s');
      return `${outer}::${this.name()}`;
    }
    let n = this.peek() === 'S' ? this.substitution() : undefined;
    if (n === 'std') n = `std::${this.unqualified('')}`;
    n ??= this.unqualified('');
    if (this.peek() === 'I') {
      this.subs.push(n);
      n += this.templateArgs();
    }
    return n;
  }

  private nested(): string {
    while (/[rVKRO]/.test(this.peek())) this.at++;
    let prefix = '';
    let last = '';
    while (!this.take('E')) {
      if (this.at >= this.s.length) this.fail();
      if (this.peek() === 'I') {
        if (!prefix) this.fail();
        prefix += this.templateArgs();
      } else if (/^S([0-9A-Z]*_|[tabsiod])/.test(this.s.slice(this.at))) {
        const sub = this.substitution() as string;
        prefix = prefix ? `${prefix}::${sub}` : sub;
        last = sub.split('::').pop() ?? sub;
        continue;
      } else {
        last = this.unqualified(last);
        prefix = prefix ? `${prefix}::${last}` : last;
      }
      if (this.peek() !== 'E') this.subs.push(prefix);
    }
    return prefix;
  }

  private templateArgs(): string {
    if (!this.take('I')) this.fail();
    const args: string[] = [];
    while (!this.take('E')) {
      if (this.at >= this.s.length) this.fail();
      args.push(this.templateArg());
    }
    const inner = args.join(', ');
    return `<${inner}${inner.endsWith('>') ? ' ' : ''}>`;
  }

  private templateArg(): string {
    if (this.take('L')) {
      const type = this.type();
      const m = /^n?\d+/.exec(this.s.slice(this.at));
      if (!m || !this.take(`${m[0]}E`)) this.fail();
      const value = m[0].replace(/^n/, '-');
      return type === 'bool' ? (value === '0' ? 'false' : 'true') : type === 'int' ? value : `(${type})${value}`;
    }
    if (this.take('J')) {
      const pack: string[] = [];
      while (!this.take('E')) pack.push(this.templateArg());
      return pack.join(', ');
    }
    return this.type();
  }

  private type(): string {
    const c = this.peek();
    const builtin = BUILTIN[c];
    if (builtin) return this.at++, builtin;
    const qualified = (suffix: string) => {
      this.at++;
      const t = `${this.type()}${suffix}`;
      this.subs.push(t);
      return t;
    };
    if (c === 'P') return qualified('*');
    if (c === 'R') return qualified('&');
    if (c === 'O') return qualified('&&');
    if (c === 'K') {
      this.at++;
      const t = `${this.type()} const`;
      this.subs.push(t);
      return t;
    }
    if (c === 'S') {
      const sub = this.substitution();
      if (sub !== undefined) {
        const t = sub === 'std' ? this.pushed(`std::${this.unqualified('')}`) : sub;
        return this.peek() === 'I' ? this.pushed(t + this.templateArgs()) : t;
      }
    }
    if (c === 'N' || (c >= '0' && c <= '9')) return this.pushed(this.name());
    return this.fail();
  }

  private pushed(t: string): string {
    this.subs.push(t);
    return t;
  }
}

/** Rust legacy escapes inside identifiers ($LT$ for <, ..). */
const RUST_ESCAPES: Record<string, string> = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };

/** A Rust legacy path: `::`-joined components, the trailing `h<16 hex>` hash dropped, escapes decoded. */
function rustLegacy(path: string): string {
  const parts = path.split('::');
  if (parts.length > 1 && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1] as string)) parts.pop();
  return parts
    .map((p) =>
      p
        .replace(/^_\$/, '$')
        .replace(/\$([A-Z]{1,2}|u[0-9a-f]{2,6})\$/g, (m, code: string) =>
          code.startsWith('u') ? String.fromCodePoint(parseInt(code.slice(1), 16)) : (RUST_ESCAPES[code] ?? m),
        )
        .replace(/\.\./g, '::'),
    )
    .join('::');
}

/** The readable name of `symbol`, or `symbol` itself when it is not mangled or not in the subset read here. */
export function demangle(symbol: string): string {
  const bare = symbol.replace(/@.*$/, '');
  const core = bare.replace(/\.(cold|part\.\d+|isra\.\d+|constprop\.\d+|lto_priv\.\d+|llvm\.\d+)+$/, '');
  if (!core.startsWith('_Z')) return symbol;
  try {
    const p = new Itanium(core.slice(2));
    const name = p.encoding();
    return core.startsWith('_ZN') && /17h[0-9a-f]{16}E/.test(core) ? rustLegacy(name) : name;
  } catch (e) {
    if (e instanceof Unsupported) return symbol;
    throw e;
  }
}
