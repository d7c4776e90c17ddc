/** Short-lived fds on kernel objects by id, closed whatever happens. */
import { isNativeError, kernelFailure } from './errors.js';
import { type ObjKind, native } from './native.js';

/**
 * Why opening an object by id can fail when it is simply going away: ENOENT once it is gone, and EAGAIN for a
 * link the kernel is releasing (its id already cleared, bpf_link_by_id).
 */
const GOING = new Set(['ENOENT', 'EAGAIN']);

/** Runs `read` on a fresh fd for the object; undefined when the object is gone or going. */
export function withObjectFd<T>(kind: ObjKind, id: number, read: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = native.fdById(kind, id);
  } catch (e) {
    if (isNativeError(e) && GOING.has(e.code)) return undefined;
    throw kernelFailure(e, `opening kernel object ${id}`);
  }
  try {
    return read(fd);
  } finally {
    native.closeFd(fd);
  }
}
