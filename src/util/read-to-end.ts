import * as fs from 'node:fs';
import { describeSystemError } from '../errors';

/** Sleeps without an event loop turn (short, bounded waits of a CLI). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Reads `fd` until EOF (ECONNRESET counts as EOF: the peer is gone). EAGAIN
 * (a non-blocking fifo with its writer still open) backs off up to 20 ms.
 * `what` names the fd in errors.
 */
export function readToEnd(fd: number, what: string): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  let delay = 1;
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINTR') continue;
      if (code === 'EAGAIN') {
        sleepMs(delay);
        delay = Math.min(delay * 2, 20);
        continue;
      }
      if (code === 'ECONNRESET') break;
      throw describeSystemError(`read ${what}`, e);
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}
