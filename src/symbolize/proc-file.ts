/** Reading procfs files, which report no size, in bounded chunks. */
import { closeSync, openSync, readSync } from 'node:fs';

/** A procfs file's text (latin1: its bytes as they are), read to its end or to the `max` bytes that fit. */
export function readProcFile(path: string, max: number): string {
  const fd = openSync(path, 'r');
  try {
    // procfs returns a page or so per read: one buffer takes them all, copied out as it fills.
    const chunks: Buffer[] = [];
    const buffer = Buffer.allocUnsafe(1 << 20);
    let total = 0;
    let filled = 0;
    for (;;) {
      const n = total + filled < max ? readSync(fd, buffer, filled, Math.min(buffer.length - filled, max - total - filled), null) : 0;
      filled += n;
      if (n === 0 || filled === buffer.length) {
        chunks.push(Buffer.from(buffer.subarray(0, filled)));
        total += filled;
        filled = 0;
      }
      if (n === 0) break;
    }
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    closeSync(fd);
  }
}
