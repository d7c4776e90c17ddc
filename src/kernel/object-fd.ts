/** Short-lived fds on kernel objects by id, closed whatever happens. */
import { isNativeError, kernelError } from './errno.js';
import { type ObjKind, native } from './native.js';

/** Runs `read` on a fresh fd for the object; undefined when the object is gone. */
export function withObjectFd<T>(kind: ObjKind, id: number, read: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = native.fdById(kind, id);
  } catch (e) {
    if (isNativeError(e) && e.code === 'ENOENT') return undefined;
    throw kernelError(e, `opening kernel object ${id}`);
  }
  try {
    return read(fd);
  } finally {
    native.closeFd(fd);
  }
}
