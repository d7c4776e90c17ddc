/**
 * Files the server reads once at start and trusts afterwards (the policy, the
 * bearer tokens): whoever can change such a file, or read it when it holds
 * secrets, holds the server's powers, so each is checked before it is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';

/** Largest start file read: these are a few lines; anything near this is a mistake. */
const MAX_START_FILE_BYTES = 1 << 20;

/** What a start file must be, and how to say why it is not; each reason completes "FILE …". */
export interface StartFileRules {
  /** Mode bits the file must not have: 0o022 for a file others may read, 0o077 for one that holds secrets. */
  deniedMode: number;
  /**
   * The bits denied instead for a systemd credential (a file directly in $CREDENTIALS_DIRECTORY, from the unit's
   * LoadCredential=): systemd writes it 0400 as root and lets the service's user read it through an ACL entry,
   * whose mask stat shows as group read (mode 0440) though no group may read it.
   */
  credentialDeniedMode?: number;
  /** Why a file with a denied bit is refused, given its mode as four octal digits. */
  modeReason(mode: string): string;
  /** Why a file owned by neither root nor the server's user is refused, given its owner. */
  ownerReason(uid: number): string;
  /** What the file holds, for the size limit's reason ("too large for a policy"). */
  kind: string;
}

/** What an errno from reading a file means, in a few words. */
export function unreadable(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(e)})`;
}

/** Whether the file at the resolved path `real` is one of this service's systemd credentials. */
function isCredential(real: string): boolean {
  const dir = process.env.CREDENTIALS_DIRECTORY;
  if (!dir) return false;
  try {
    return dirname(real) === realpathSync(dir);
  } catch {
    return false;
  }
}

/** A check the file failed, carried to the one place that turns it into the caller's error. */
class Refusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * The text and resolved path of the start file at `path`, after checking it
 * is a regular file of at most 1 MiB, owned by root or the server's user,
 * without a denied mode bit (a systemd credential's own, when the rules give them), and UTF-8. A refusal is `refuse(reason)`.
 */
export function readStartFile(path: string, rules: StartFileRules, refuse: (reason: string) => Error): { text: string; real: string } {
  let real: string;
  let fd: number;
  try {
    real = realpathSync(path);
    // Non-blocking, so a FIFO named by mistake is refused below instead of hanging the start.
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw refuse(unreadable(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Refusal('is not a regular file');
    const denied = rules.credentialDeniedMode !== undefined && isCredential(real) ? rules.credentialDeniedMode : rules.deniedMode;
    if (st.mode & denied) throw new Refusal(rules.modeReason((st.mode & 0o7777).toString(8).padStart(4, '0')));
    const uid = process.geteuid?.() ?? 0;
    if (st.uid !== 0 && st.uid !== uid) throw new Refusal(rules.ownerReason(st.uid));
    const tooBig = `is over ${MAX_START_FILE_BYTES >> 20} MiB, too large for ${rules.kind}`;
    if (st.size > MAX_START_FILE_BYTES) throw new Refusal(tooBig);
    const buf = Buffer.alloc(MAX_START_FILE_BYTES + 1);
    let size = 0;
    for (let n = -1; n !== 0 && size < buf.length; size += n) n = readSync(fd, buf, size, buf.length - size, null);
    if (size > MAX_START_FILE_BYTES) throw new Refusal(tooBig);
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, size)), real };
    } catch {
      throw new Refusal('is not UTF-8 text');
    }
  } catch (e) {
    throw refuse(e instanceof Refusal ? e.reason : unreadable(e));
  } finally {
    closeSync(fd);
  }
}
