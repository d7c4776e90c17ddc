import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { TokenFileError, Tokens, wwwAuthenticate } from '../../src/server/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;

/** A token file holding `text`, private to its owner. */
function tokenFile(text: string | Buffer): string {
  const path = join(dir, `tokens-${++files}`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

const ALICE = 'alice-0123456789abcdef0123456789abcdef';
const BOB = 'bob-token-with-punctuation!#$%&()*+,-./:;<=>?@[]^_`{|}~';
const CAROL = 'carol-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const CAROL_HASH = sha256hex(CAROL);

const VALID = `# Tokens of a test host.
alice operator ${ALICE}

   # an indented comment, and a line with tabs and trailing spaces
bob\tadmin\t${BOB}   \r
carol.c@example-1 observer sha256:${CAROL_HASH.toUpperCase()}
`;

/** Every field of every line of `text` longer than a role, bare and without a sha256: prefix: what no message may hold. */
function secretsOf(text: string): string[] {
  return text
    .split('\n')
    .flatMap((l) => l.trim().split(/\s+/))
    .flatMap((f) => [f, f.replace(/^sha256:/i, '')])
    .filter((f) => f.length >= 10);
}

/** Asserts that reading `path` fails at `line` with a reason matching `what`, the message holding none of `secrets`. */
function refused(path: string, line: number | undefined, what: RegExp, secrets: readonly string[] = []): void {
  assert.throws(
    () => Tokens.read(path),
    (e: unknown) => {
      assert.ok(e instanceof TokenFileError, `a TokenFileError, not ${String(e)}`);
      assert.equal(e.file, path);
      assert.equal(e.line, line, e.message);
      const prefix = `${path}${line === undefined ? '' : `:${line}`}: `;
      assert.ok(e.message.startsWith(prefix), `${JSON.stringify(e.message)} starts with ${JSON.stringify(prefix)}`);
      assert.match(e.reason, what);
      for (const secret of secrets) {
        for (const told of [e.message, e.reason, String(e), inspect(e)]) assert.ok(!told.toLowerCase().includes(secret.toLowerCase()), `a secret in ${JSON.stringify(told)}`);
      }
      return true;
    },
  );
}

/** Asserts that `text` as a token file fails at `line`, naming no field of the file. */
const refusedText = (text: string, line: number | undefined, what: RegExp) => refused(tokenFile(text), line, what, secretsOf(text));

describe('a token file', () => {
  const tokens = Tokens.read(tokenFile(VALID));

  it('reads both forms, skipping comments and blank lines', () => {
    assert.equal(tokens.size, 3);
    assert.deepEqual(tokens.authenticate(`Bearer ${ALICE}`), { name: 'alice', role: 'operator' });
    assert.deepEqual(tokens.authenticate(`Bearer ${BOB}`), { name: 'bob', role: 'admin' });
    assert.deepEqual(tokens.authenticate(`Bearer ${CAROL}`), { name: 'carol.c@example-1', role: 'observer' });
  });

  it('keeps no token or digest where inspect or JSON shows it', () => {
    for (const shown of [inspect(tokens, { showHidden: true, depth: 10 }), JSON.stringify(tokens)]) {
      for (const secret of [ALICE, BOB, CAROL, CAROL_HASH, sha256hex(ALICE)]) assert.ok(!shown.toLowerCase().includes(secret.toLowerCase()), shown);
    }
  });

  it('gives each caller its own principal', () => {
    const p = tokens.authenticate(`Bearer ${ALICE}`);
    assert.ok(p);
    p.role = 'admin';
    assert.equal(tokens.authenticate(`Bearer ${ALICE}`)?.role, 'operator');
  });

  it('takes the scheme in any case', () => {
    assert.equal(tokens.authenticate(`bearer ${ALICE}`)?.name, 'alice');
    assert.equal(tokens.authenticate(`BEARER ${ALICE}`)?.name, 'alice');
  });

  it('refuses a wrong, missing or malformed token', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${ALICE}x`,
      `Bearer ${ALICE.slice(0, -1)}`,
      `Bearer sha256:${CAROL_HASH}`,
      `Bearer ${CAROL_HASH}`,
      `Basic ${Buffer.from(`alice:${ALICE}`).toString('base64')}`,
      `Basic ${ALICE}`,
      ALICE,
      `Bearer  ${ALICE}`,
      `Bearer ${ALICE} `,
      ` Bearer ${ALICE}`,
      `Bearer\t${ALICE}`,
      `Bearer ${ALICE} ${BOB}`,
      `Bearer ${ALICE}\n`,
      `Bearer:${ALICE}`,
      `Bearer ${ALICE.slice(0, 10)}é${ALICE.slice(11)}`,
    ]) {
      assert.equal(tokens.authenticate(header), undefined, JSON.stringify(header));
    }
  });

  it('refuses an overlong header at once, even one holding a good token', () => {
    const longest = `${'a'.repeat(4096 - 'Bearer '.length)}`;
    const withLongest = Tokens.read(tokenFile(`long admin ${longest}\n`));
    assert.equal(withLongest.authenticate(`Bearer ${longest}`)?.name, 'long');
    assert.equal(withLongest.authenticate(`Bearer ${longest}a`), undefined);
    const huge = `Bearer ${'a'.repeat(64 << 20)}`;
    const start = process.hrtime.bigint();
    assert.equal(tokens.authenticate(huge), undefined);
    assert.ok(process.hrtime.bigint() - start < 5_000_000n, 'refused without reading the header');
  });

  it('accepts the shortest token and a lone sha256 line', () => {
    const shortest = 'x'.repeat(32);
    const t = Tokens.read(tokenFile(`ci operator ${shortest}\n`));
    assert.equal(t.size, 1);
    assert.equal(t.authenticate(`Bearer ${shortest}`)?.name, 'ci');
    assert.equal(Tokens.read(tokenFile(`h observer sha256:${CAROL_HASH}`)).authenticate(`Bearer ${CAROL}`)?.name, 'h');
  });
});

describe('WWW-Authenticate', () => {
  it('says Bearer with the realm, and invalid_token when a token was given', () => {
    assert.equal(wwwAuthenticate(false), 'Bearer realm="ebpf-mcp"');
    assert.equal(wwwAuthenticate(true), 'Bearer realm="ebpf-mcp", error="invalid_token"');
  });
});

describe('a token file that is refused', () => {
  it('with no tokens', () => {
    refusedText('', undefined, /^has no tokens/);
    refusedText('# only a comment\n\n   \n', undefined, /^has no tokens/);
  });

  it('a line without three fields, at its line', () => {
    refusedText(`alice operator ${ALICE}\n\nbob admin\n`, 3, /^expected 3 fields \(name role token, or name role sha256:HEX\), found 2$/);
    refusedText(`alice operator ${ALICE} extra-field-here\n`, 1, /found 4$/);
    refusedText(`# a token with a space in it\nalice operator ${ALICE.slice(0, 20)} ${ALICE.slice(20)}\n`, 2, /found 4$/);
    refusedText(`alice\n`, 1, /found 1$/);
  });

  it('a bad name, without echoing it', () => {
    refusedText(`alice operator ${ALICE}\nbad/name-here operator ${BOB}\n`, 2, /^the name must be 1 to 64 letters, digits and _ \. @ -$/);
    refusedText(`${'n'.repeat(65)} operator ${ALICE}\n`, 1, /^the name must be/);
    refusedText(`n\u00e9e-named-user operator ${ALICE}\n`, 1, /^the name must be/);
  });

  it('a token where the name goes, without echoing it', () => {
    refusedText(`${ALICE} operator alice\n`, 1, /shorter than 32/);
    refusedText(`${BOB} admin bob\n`, 1, /^the name must be/);
  });

  it('an unknown role, listing the roles', () => {
    refusedText(`alice operator ${ALICE}\n# next\nbob root ${BOB}\n`, 3, /^unknown role: roles are observer, operator, admin$/);
    refusedText(`alice Operator ${ALICE}\n`, 1, /^unknown role/);
    refusedText(`alice ${BOB} ${ALICE}\n`, 1, /^unknown role/);
  });

  it('a short token, without echoing it', () => {
    const short = 'short-secret-31-characters-long';
    assert.equal(short.length, 31);
    refused(tokenFile(`alice operator ${ALICE}\nbob admin ${short}\n`), 2, /^the token is shorter than 32 characters/, [short, ALICE]);
  });

  it('a token that is not printable ASCII, or too long for a header', () => {
    refusedText(`alice operator ${ALICE}\u00e9\n`, 1, /^a token must be printable ASCII without spaces$/);
    refusedText(`alice operator ${ALICE}\u0001\n`, 1, /^a token must be printable ASCII/);
    refusedText(`alice operator ${ALICE}\u000b${ALICE}\n`, 1, /^a token must be printable ASCII/);
    refusedText(`alice operator ${'a'.repeat(4090)}\n`, 1, /^the token is longer than 4089 characters/);
  });

  it('a sha256: that is not 64 hex digits', () => {
    refusedText(`carol observer sha256:${CAROL_HASH.slice(1)}\n`, 1, /^a sha256: token must be followed by 64 hex digits$/);
    refusedText(`carol observer sha256:${CAROL_HASH}0\n`, 1, /64 hex digits/);
    refusedText(`carol observer sha256:${CAROL_HASH.slice(1)}g\n`, 1, /64 hex digits/);
    refusedText(`carol observer SHA256:${'z'.repeat(64)}\n`, 1, /64 hex digits/);
  });

  it('a name given twice, at the second line', () => {
    refusedText(`alice operator ${ALICE}\nbob admin ${BOB}\nalice admin ${CAROL}\n`, 3, /^the name is already given on line 1$/);
  });

  it('a token given twice, plain or hashed, at the second line', () => {
    refusedText(`alice operator ${ALICE}\nbob admin ${ALICE}\n`, 2, /^the same token as on line 1$/);
    refusedText(`carol observer sha256:${CAROL_HASH}\n\ncarol2 admin ${CAROL}\n`, 3, /^the same token as on line 1$/);
    refusedText(`carol observer ${CAROL}\ncarol2 admin sha256:${CAROL_HASH.toUpperCase()}\n`, 2, /^the same token as on line 1$/);
  });

  it('readable or writable by group or others, naming the mode', () => {
    for (const mode of [0o640, 0o604, 0o620, 0o602, 0o610, 0o644, 0o666]) {
      const path = tokenFile(VALID);
      chmodSync(path, mode);
      refused(path, undefined, new RegExp(`^is open to group or others \\(mode 0${mode.toString(8)}\\): .*chmod 600 it$`), secretsOf(VALID));
    }
    const owner = tokenFile(VALID);
    chmodSync(owner, 0o400);
    assert.equal(Tokens.read(owner).size, 3);
  });

  it('as a systemd credential (LoadCredential=): its mode 0440, the ACL mask, is taken there and only there', () => {
    // systemd writes a credential 0400 as root and adds an ACL entry for the service's user: stat shows the mask as group read.
    const credentials = mkdtempSync(join(dir, 'credentials-'));
    const path = join(credentials, 'tokens');
    writeFileSync(path, VALID, { mode: 0o400 });
    chmodSync(path, 0o440);
    const elsewhere = tokenFile(VALID);
    chmodSync(elsewhere, 0o440);
    const before = process.env.CREDENTIALS_DIRECTORY;
    process.env.CREDENTIALS_DIRECTORY = credentials;
    try {
      assert.equal(Tokens.read(path).size, 3);
      refused(elsewhere, undefined, /^is open to group or others \(mode 0440\)/);
      for (const mode of [0o460, 0o444, 0o442]) {
        chmodSync(path, mode);
        refused(path, undefined, new RegExp(`^is open to group or others \\(mode 0${mode.toString(8)}\\)`));
      }
      chmodSync(path, 0o440);
      delete process.env.CREDENTIALS_DIRECTORY;
      refused(path, undefined, /^is open to group or others \(mode 0440\)/);
    } finally {
      if (before === undefined) delete process.env.CREDENTIALS_DIRECTORY;
      else process.env.CREDENTIALS_DIRECTORY = before;
    }
  });

  it('owned by another user, naming the uid', (t) => {
    if (process.geteuid?.() !== 0) return t.skip('chown needs root');
    const path = tokenFile(VALID);
    chownSync(path, 65534, 65534);
    refused(path, undefined, /^is owned by uid 65534, who can read and change its tokens/, secretsOf(VALID));
  });

  it('over 1 MiB', () => {
    refused(tokenFile(`# ${'x'.repeat(1 << 20)}\nalice operator ${ALICE}\n`), undefined, /^is over 1 MiB, too large for a token file$/);
    assert.equal(Tokens.read(tokenFile(`# ${'x'.repeat((1 << 20) - 100)}\nalice operator ${ALICE}\n`)).size, 1);
  });

  it('missing, a directory, a FIFO (at once), not UTF-8', () => {
    refused(join(dir, 'no-such-file'), undefined, /^does not exist$/);
    const sub = join(dir, 'a-dir');
    mkdirSync(sub);
    refused(sub, undefined, /^is not a regular file$/);
    const fifo = join(dir, 'tokens.fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const start = Date.now();
    refused(fifo, undefined, /^is not a regular file$/);
    assert.ok(Date.now() - start < 1000);
    refused(tokenFile(Buffer.concat([Buffer.from(`alice operator ${ALICE}`), Buffer.from([0xff, 0x0a])])), undefined, /^is not UTF-8 text$/, [ALICE]);
  });

  it('through a symbolic link, the target is checked', () => {
    const target = tokenFile(VALID);
    const link = join(dir, 'tokens-link');
    symlinkSync(target, link);
    assert.equal(Tokens.read(link).size, 3);
    chmodSync(target, 0o640);
    refused(link, undefined, /^is open to group or others \(mode 0640\)/);
  });
});
