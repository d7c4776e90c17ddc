/**
 * Bearer tokens for the HTTP transport (`--token-file FILE`), never from the
 * command line, where any user on the host reads them in the process list.
 * The file is private to the server's user; each line names a principal, its
 * role and its token, plain or as a sha256 digest. Only digests are kept, a
 * presented token is compared in constant time against every one of them,
 * and no message this module makes holds a token, a digest, or any other
 * field of the file (a line with its columns swapped would leak a token
 * through its "name").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type StartFileRules, readStartFile } from '../policy/start-file.js';
import { ROLES, type Role, isRole } from '../policy/roles.js';

/** A token file that cannot be used: message `FILE:LINE: what is wrong` (LINE omitted when the file as a whole is bad), never containing a token. */
export class TokenFileError extends Error {
  constructor(
    /** The file as it was named. */
    readonly file: string,
    /** The line (from 1) at fault; undefined when the file as a whole is bad. */
    readonly line: number | undefined,
    /** What is wrong, without the location. */
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.name = 'TokenFileError';
  }
}

/** Who a request is: the token's name and role. */
export interface TokenPrincipal {
  /** The token's name from the file, for the audit log. */
  name: string;
  role: Role;
}

/** Longest Authorization header looked at; a longer one is refused before any work. */
const MAX_HEADER = 4096;

/** `Bearer` and its one space. */
const SCHEME = 'Bearer ';

/** Shortest plain token: 32 characters of printable ASCII, about 190 bits when random. */
const MIN_TOKEN = 32;

/** Longest plain token: one that still fits an Authorization header. */
const MAX_TOKEN = MAX_HEADER - SCHEME.length;

/** A token's name: what the audit log and errors call its holder. */
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** Printable ASCII without spaces: what a token is made of, in the file and in a header. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** A third field that is a digest, not a token. */
const HASH_PREFIX = /^sha256:/i;

/** A sha256 digest in hex. */
const HEX64 = /^[0-9a-fA-F]{64}$/;

/** How the token file is checked before it is read: its tokens are secrets, so no one but its owner may read or write it. */
const TOKEN_FILE_RULES: StartFileRules = {
  deniedMode: 0o077,
  // Group read only: the ACL mask of a LoadCredential= file (its group has no access of its own).
  credentialDeniedMode: 0o037,
  modeReason: (mode) => `is open to group or others (mode ${mode}): whoever can read it can use its tokens, and whoever can write it can add one: chmod 600 it`,
  ownerReason: (uid) => `is owned by uid ${uid}, who can read and change its tokens: it must be owned by root or by the server's user`,
  kind: 'a token file',
};

/** What a line holds, for the errors. */
const FORMAT = 'name role token, or name role sha256:HEX';

/** One accepted token: its digest and whom it stands for. */
interface Entry {
  digest: Buffer;
  principal: Readonly<TokenPrincipal>;
}

/** The sha256 digest of a token. */
const sha256 = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** The digest a line's third field stands for, or why it cannot be a token. */
function digestOf(secret: string): Buffer | string {
  if (HASH_PREFIX.test(secret)) {
    const hex = secret.slice('sha256:'.length);
    return HEX64.test(hex) ? Buffer.from(hex, 'hex') : 'a sha256: token must be followed by 64 hex digits';
  }
  if (!TOKEN_CHARS.test(secret)) return 'a token must be printable ASCII without spaces';
  if (secret.length < MIN_TOKEN) return `the token is shorter than ${MIN_TOKEN} characters: make a random one (openssl rand -hex 32)`;
  if (secret.length > MAX_TOKEN) return `the token is longer than ${MAX_TOKEN} characters, more than an Authorization header carries`;
  return sha256(secret);
}

/** The entries of a token file's text; throws a TokenFileError at the first bad line. */
function parse(file: string, text: string): Entry[] {
  const entries: Entry[] = [];
  const names = new Map<string, number>();
  const digests = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const refuse = (reason: string) => new TokenFileError(file, line, reason);
    const content = raw.replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) return;
    const fields = content.split(/[ \t]+/);
    if (fields.length !== 3) throw refuse(`expected 3 fields (${FORMAT}), found ${fields.length}`);
    const [name, role, secret] = fields as [string, string, string];
    if (!NAME.test(name)) throw refuse('the name must be 1 to 64 letters, digits and _ . @ -');
    if (!isRole(role)) throw refuse(`unknown role: roles are ${ROLES.join(', ')}`);
    const digest = digestOf(secret);
    if (typeof digest === 'string') throw refuse(digest);
    const sameName = names.get(name);
    if (sameName !== undefined) throw refuse(`the name is already given on line ${sameName}`);
    const key = digest.toString('hex');
    const sameToken = digests.get(key);
    if (sameToken !== undefined) throw refuse(`the same token as on line ${sameToken}`);
    names.set(name, line);
    digests.set(key, line);
    entries.push({ digest, principal: Object.freeze({ name, role }) });
  });
  if (entries.length === 0) throw new TokenFileError(file, undefined, `has no tokens: write one a line, ${FORMAT}`);
  return entries;
}

/** The tokens a server accepts. */
export class Tokens {
  /** ES private, so neither util.inspect nor JSON.stringify shows a digest. */
  readonly #entries: readonly Entry[];

  private constructor(entries: readonly Entry[]) {
    this.#entries = entries;
  }

  /**
   * Reads and checks the token file at `path`: a regular file of at most
   * 1 MiB, owned by root or the server's user, that neither group nor others
   * may read or write (but for a systemd credential's mode 0440: see readStartFile), in UTF-8, with at least one token. Throws a
   * TokenFileError naming the file (and line) otherwise.
   */
  static read(path: string): Tokens {
    const { text } = readStartFile(path, TOKEN_FILE_RULES, (reason) => new TokenFileError(path, undefined, reason));
    return new Tokens(parse(path, text));
  }

  /** How many tokens are accepted. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The principal for an Authorization header value, or undefined (no header,
   * not `Bearer <token>` with one space, over 4096 characters, an unknown
   * token). The presented token is hashed once and its digest compared with
   * every stored one, without stopping at a match, so the time taken says
   * nothing about which token, or how much of one, was right.
   */
  authenticate(header: string | undefined): TokenPrincipal | undefined {
    if (header === undefined || header.length > MAX_HEADER) return undefined;
    if (header.slice(0, SCHEME.length).toLowerCase() !== SCHEME.toLowerCase()) return undefined;
    const token = header.slice(SCHEME.length);
    if (!TOKEN_CHARS.test(token)) return undefined;
    const digest = sha256(token);
    let found: Entry | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, digest)) found = entry;
    }
    return found && { ...found.principal };
  }
}

/** The WWW-Authenticate value of a 401 (RFC 6750): Bearer realm="ebpf-mcp", with error="invalid_token" when a token was given. */
export function wwwAuthenticate(tokenGiven: boolean): string {
  return `Bearer realm="ebpf-mcp"${tokenGiven ? ', error="invalid_token"' : ''}`;
}
