/**
 * Foreground terminals (`run` and `exec -t` without --console-socket), as
 * runc does: the container's helper sends the pty master to a console socket
 * tsrun itself listens on (a private 0700 directory), then tsrun proxies its
 * own stdin → master and master → stdout until the process exits.
 *
 * The container never shares tsrun's stdio here (its fds 0-2 are the pty
 * slave), so using tsrun's own stdio is safe. Still, process.stdin/stdout are
 * not used: output goes out with fs.writeSync(1) (blocking), input is read
 * with fs.read on the libuv pool, or through a tty.ReadStream in raw mode when
 * stdin is a terminal (libuv reopens the tty, so the shared open file
 * description never becomes O_NONBLOCK). The window size follows SIGWINCH.
 * The bytes are runc's: the init cleared ONLCR on this pty before the process
 * ran (OP_CONSOLE_SETUP's clear_onlcr, as runc's ClearONLCR on the master), so
 * "\n" is not turned into "\r\n"; the rest of its termios stays the kernel's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { TsrunError } from '../errors';
import { recvFds, setWinsize, unixAccept, unixListen } from '../native/addon';

/** A console socket owned by tsrun: listen now, receive the master after the helper sent it. */
export class OwnConsole {
  readonly dir: string;
  readonly path: string;
  private fd: number;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-tty-'));
    this.path = path.join(this.dir, 'console.sock');
    this.fd = unixListen(this.path);
  }

  /** The master fd (the helper has sent it before READY / before exec). */
  receive(timeoutMs = 10_000): { master: number; name: string } {
    const conn = unixAccept(this.fd, timeoutMs);
    try {
      const r = recvFds(conn, timeoutMs);
      if (r.fds.length !== 1) {
        for (const f of r.fds) fs.closeSync(f);
        throw new TsrunError(`console socket: expected exactly one fd, got ${r.fds.length}`);
      }
      return { master: r.fds[0], name: r.payload.toString('utf8') };
    } finally {
      fs.closeSync(conn);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* closed */
      }
      this.fd = -1;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}

export interface TtyProxy {
  /** Resolves when the master reports EOF/EIO (every slave holder is gone). */
  outputDone: Promise<void>;
  /** Restores the terminal mode and stops forwarding input; closes the master. */
  stop(): void;
}

/** Proxies tsrun's stdio to the pty master until stop(). */
export function proxyTty(master: number): TtyProxy {
  let stopped = false;
  let inTty: tty.ReadStream | undefined;
  let sizeOut: tty.WriteStream | undefined;

  const resize = () => {
    if (!sizeOut) return;
    const [cols, rows] = sizeOut.getWindowSize();
    try {
      setWinsize(master, rows, cols);
    } catch {
      /* the pty may be gone */
    }
  };
  if (tty.isatty(1)) {
    sizeOut = new tty.WriteStream(1);
    resize();
    process.on('SIGWINCH', resize);
  }

  // Input.
  if (tty.isatty(0)) {
    inTty = new tty.ReadStream(0);
    inTty.setRawMode(true);
    inTty.on('data', (b: Buffer) => {
      if (!stopped) writeAll(master, b);
    });
    inTty.on('error', () => undefined);
  } else {
    const buf = Buffer.alloc(16384);
    const pump = () => {
      fs.read(0, buf, 0, buf.length, null, (err, n) => {
        if (stopped || err || n === 0) return;
        try {
          writeAll(master, buf.subarray(0, n));
        } catch {
          return;
        }
        pump();
      });
    };
    pump();
  }

  // Output.
  const outputDone = new Promise<void>((resolve) => {
    const buf = Buffer.alloc(65536);
    const pump = () => {
      fs.read(master, buf, 0, buf.length, null, (err, n) => {
        if (err || n === 0) return resolve(); // EIO: the slave side is closed
        try {
          writeAll(1, buf.subarray(0, n));
        } catch {
          return resolve();
        }
        pump();
      });
    };
    pump();
  });

  return {
    outputDone,
    stop() {
      if (stopped) return;
      stopped = true;
      process.off('SIGWINCH', resize);
      if (inTty) {
        try {
          inTty.setRawMode(false);
        } catch {
          /* not a tty any more */
        }
        inTty.pause();
        inTty.destroy();
      }
    },
  };
}

/** Waits for the output to drain after the process exited, at most `ms`. */
export async function drain(p: TtyProxy, ms = 1000): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p.outputDone, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  if (t) clearTimeout(t);
}
