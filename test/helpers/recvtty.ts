/**
 * A console-socket receiver like runc's tests/cmd/recvtty: listens on a path,
 * accepts the runtime's connection, receives the pty master and checks the
 * shape of the message against what go-runc's recvFd accepts (one SCM_RIGHTS
 * cmsg, exactly one fd, oob length == CMSG_SPACE(4), non-empty name, no
 * truncation). Synchronous: the runtime's connect and sendmsg complete
 * against the listen backlog, so `create` can run before receive().
 *
 * CLI: node dist/test/helpers/recvtty.js <socket-path>   (prints the shape as JSON, then copies the output)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recvFds, unixAccept, unixListen } from '../../src/native/addon';

const MSG_CTRUNC = 0x8;
const MSG_TRUNC = 0x20;

export interface ReceivedTty {
  master: number;
  name: string;
  /** Problems with the message shape; empty when it is exactly runc's. */
  problems: string[];
}

export class TtyReceiver {
  readonly dir: string;
  readonly path: string;
  private fd: number;

  constructor(socketPath?: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recvtty-'));
    this.path = socketPath ?? path.join(this.dir, 'tty.sock');
    this.fd = unixListen(this.path);
  }

  receive(timeoutMs = 10_000): ReceivedTty {
    const conn = unixAccept(this.fd, timeoutMs);
    try {
      const r = recvFds(conn, timeoutMs);
      const problems: string[] = [];
      if (r.cmsgs !== 1) problems.push(`number of SCMs is not 1 (${r.cmsgs})`);
      if (r.fds.length !== 1) problems.push(`number of fds is not 1 (${r.fds.length})`);
      if (r.controlLen !== r.cmsgSpaceOne) problems.push(`oob length ${r.controlLen} != CmsgSpace(4) ${r.cmsgSpaceOne}`);
      if (r.flags & (MSG_CTRUNC | MSG_TRUNC)) problems.push(`truncated message (flags 0x${r.flags.toString(16)})`);
      const name = r.payload.toString('utf8');
      if (!name) problems.push('empty pty name');
      for (const f of r.fds.slice(1)) fs.closeSync(f);
      if (r.fds.length === 0) throw new Error(`no fd received: ${problems.join('; ')}`);
      return { master: r.fds[0], name, problems };
    } finally {
      fs.closeSync(conn);
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(this.dir, { recursive: true, force: true });
    try {
      fs.unlinkSync(this.path);
    } catch {
      /* gone */
    }
  }
}

/** Reads the master until EIO/EOF (every slave holder has exited). */
export function readAll(master: number, maxBytes = 1 << 20): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(master, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') continue;
      break; // EIO: no slave left
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    total += n;
    if (total >= maxBytes) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) {
  const r = new TtyReceiver(process.argv[2]);
  const got = r.receive(600_000);
  fs.writeSync(2, JSON.stringify({ name: got.name, problems: got.problems }) + '\n');
  fs.writeSync(1, readAll(got.master));
  r.close();
}
