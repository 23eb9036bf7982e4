/**
 * Serialises commands acting on one container id, across processes, with no
 * native code (Node has no flock):
 *
 *   `<root>/.<id>.lock` is created with O_CREAT|O_EXCL and holds "<pid> <starttime>"
 *   of its owner. Whoever creates it holds the lock; release unlinks it.
 *
 * A lock whose owner is dead (pid gone, zombie, or pid reused: start time
 * differs) is stale. Taking it over is itself serialised by a second O_EXCL
 * file, `<root>/.<id>.lock.takeover`, held only for the few syscalls needed to
 * re-read the lock, check it is still the same stale one, and unlink it. So
 * two waiters can never both remove a lock and both win: after the unlink the
 * lock is contended through O_EXCL again. A takeover file older than
 * TAKEOVER_STALE_MS (its holder died within those few syscalls) is removed.
 *
 * The lock is re-entrant within one process (create's rollback may call
 * destroy, which locks the same id).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import { validateId } from './paths';
import { processAlive, readStartTime, sleepSync } from './proc';
import { ensureRoot } from './store';

export interface LockOptions {
  /** How long to wait for a live owner (default 30 s). */
  timeoutMs?: number;
}

const TAKEOVER_STALE_MS = 5_000;
const held = new Map<string, number>();
let myIdentity: string | undefined;

function identity(): string {
  if (myIdentity === undefined) myIdentity = `${process.pid} ${readStartTime(process.pid) ?? ''}`;
  return myIdentity;
}

export function lockPath(root: string, id: string): string {
  validateId(id);
  return path.join(root, `.${id}.lock`);
}

function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function readOwner(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** "<pid> <starttime>" of a live process? An empty/garbled file (owner died mid-write) is stale. */
function ownerAlive(owner: string): boolean {
  const m = /^(\d+) (\d*)$/.exec(owner.trim());
  if (!m) return false;
  return processAlive(Number(m[1]), m[2] || undefined);
}

/** Removes `file` if it still holds `staleOwner` (dead, or an earlier image of this process), under the takeover lock. */
function takeOver(file: string, staleOwner: string): void {
  const guard = `${file}.takeover`;
  if (!tryCreate(guard, identity())) {
    try {
      if (Date.now() - fs.statSync(guard).mtimeMs > TAKEOVER_STALE_MS) fs.unlinkSync(guard);
    } catch {
      /* gone already */
    }
    return; // retry from the top
  }
  try {
    const now = readOwner(file);
    if (now !== null && now === staleOwner && (now === identity() || !ownerAlive(now))) fs.unlinkSync(file);
  } finally {
    fs.unlinkSync(guard);
  }
}

function acquire(root: string, id: string, file: string, timeoutMs: number): void {
  ensureRoot(root);
  const me = identity();
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  let owner = '';
  for (;;) {
    try {
      if (tryCreate(file, me)) return;
    } catch (e) {
      throw new TsrunError(`lock container ${id}: ${(e as Error).message}`);
    }
    const cur = readOwner(file);
    if (cur === null) continue; // released between our open and read
    owner = cur;
    // Stale: a dead owner (an empty file may be an owner between its open and its write: give it
    // a moment), or our own pid and start time on a lock this image does not hold, which an
    // earlier image of this very process left when it re-executed itself (src/util/hash-flood.ts).
    if (cur === me || (!ownerAlive(cur) && (cur !== '' || Date.now() - mtime(file) > 1_000))) {
      takeOver(file, cur);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new TsrunError(`timed out waiting for the lock on container ${id} (held by pid ${owner.split(' ')[0] || '?'})`);
    }
    sleepSync(delay);
    delay = Math.min(delay * 2, 50);
  }
}

function mtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function release(file: string): void {
  const n = (held.get(file) ?? 1) - 1;
  if (n > 0) {
    held.set(file, n);
    return;
  }
  held.delete(file);
  try {
    fs.unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/**
 * Runs fn while holding the lock on `id`. If fn returns a promise the lock is
 * released when it settles. Throws TsrunError on timeout.
 */
export function withLock<T>(root: string, id: string, fn: () => T, opts: LockOptions = {}): T {
  const file = lockPath(root, id);
  const depth = held.get(file) ?? 0;
  if (depth === 0) acquire(root, id, file, opts.timeoutMs ?? 30_000);
  held.set(file, depth + 1);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    release(file);
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    return (result as unknown as Promise<unknown>).then(
      (v) => {
        release(file);
        return v;
      },
      (e) => {
        release(file);
        throw e;
      },
    ) as unknown as T;
  }
  release(file);
  return result;
}
