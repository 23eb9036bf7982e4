/**
 * The parent's side of the init sync protocol (addon/common/plan_wire.h):
 * send MSG_PLAN, wait for MSG_READY or MSG_ERROR, record the container, then
 * MSG_COMMIT. Blocking reads are fine here: create is a short-lived CLI and
 * has nothing else to do.
 */
import * as fs from 'node:fs';
import { TsrunError, describeSystemError } from '../errors';
import { Msg, type PlanStep } from '../plan/ops';
import { frame, framePlan } from '../plan/wire';

/**
 * The longest message the init may send: its MSG_ERROR is one line (i32 errno
 * + < 1 KiB of text). Anything longer is refused before it is allocated.
 */
export const MAX_INIT_FRAME = 64 * 1024;

export function sendPlan(fd: number, steps: readonly PlanStep[]): void {
  const buf = framePlan(steps);
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

function readExact(fd: number, n: number): Buffer | null {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    let got: number;
    try {
      got = fs.readSync(fd, buf, off, n - off, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') continue;
      if (code === 'ECONNRESET') return null;
      throw e;
    }
    if (got === 0) return null;
    off += got;
  }
  return buf;
}

/**
 * Waits for the init to report READY; throws its error otherwise. MSG_HOOKS
 * (OP_RUNTIME_HOOKS) calls `onHooks` (the prestart/createRuntime hooks, which
 * throw on failure) and answers MSG_HOOKS_DONE.
 */
export function awaitReady(fd: number, onHooks?: () => void, onChild?: (pid: number) => void): void {
  for (;;) {
    const header = readExact(fd, 8);
    if (header && header.readUInt32LE(0) === Msg.Hooks && header.readUInt32LE(4) === 0) {
      if (!onHooks) throw new TsrunError('container init asked for runtime hooks, but there are none');
      onHooks();
      sendFrame(fd, frame(Msg.HooksDone));
      continue;
    }
    // OP_FORK "wait" (a pid namespace joined by path): the intermediate reports the child and
    // exits; the child waits for MSG_CHILD_GO, so it is alive while `onChild` opens its pid.
    if (header && header.readUInt32LE(0) === Msg.ChildPid && header.readUInt32LE(4) === 4) {
      const payload = readExact(fd, 4);
      if (!payload) throw new TsrunError('container init exited in the middle of a message');
      const pid = payload.readUInt32LE(0);
      if (!onChild) throw new TsrunError('container init forked, but none was expected');
      if (pid === 0 || pid > 0x7fffffff) throw new TsrunError(`container init reported child pid ${pid}`);
      onChild(pid);
      sendFrame(fd, frame(Msg.ChildGo));
      continue;
    }
    return readyOrError(fd, header);
  }
}

function sendFrame(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

/** MSG_ERROR's payload (i32 errno | one line of text) as a TsrunError, prefixed with `what`. */
export function initError(what: string, payload: Buffer): TsrunError {
  const errno = payload.length >= 4 ? payload.readInt32LE(0) : 0;
  return new TsrunError(`${what}: ${payload.subarray(4).toString('utf8').trim()}`, { errno });
}

function readyOrError(fd: number, header: Buffer | null): void {
  if (!header) throw new TsrunError('container init exited before it was ready');
  const type = header.readUInt32LE(0);
  const len = header.readUInt32LE(4);
  if (len > MAX_INIT_FRAME) throw new TsrunError(`container init sent a message of ${len} bytes (type ${type}; at most ${MAX_INIT_FRAME})`);
  const payload = len > 0 ? readExact(fd, len) : Buffer.alloc(0);
  if (!payload) throw new TsrunError('container init exited in the middle of a message');
  if (type === Msg.Ready) return;
  if (type === Msg.Error) throw initError('container init', payload);
  throw new TsrunError(`container init sent unexpected message type ${type}`);
}

/**
 * MSG_COMMIT: the container is recorded, the init may wait on the exec fifo.
 * A failed send means the init is gone (EPIPE: Node ignores SIGPIPE).
 */
export function sendCommit(fd: number): void {
  try {
    sendFrame(fd, frame(Msg.Commit));
  } catch (e) {
    throw describeSystemError('container init exited before the create was committed', e);
  }
}
