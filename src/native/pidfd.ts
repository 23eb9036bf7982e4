/**
 * A process named by a pidfd instead of a bare pid: opened, THEN checked
 * against the start time recorded for it, so a reused pid is never signalled
 * or joined (the pidfd keeps naming the process it was opened for, dead or
 * alive). Uses the tiny tsrun_exit.node module every command loads anyway;
 * without it (not built, or a kernel before 5.3) a bare pid + start-time
 * check, as before.
 */
import * as fs from 'node:fs';
import { smallModule } from './exit';
import { readStartTime } from '../state/proc';

export interface ProcessHandle {
  pid: number;
  /** -1 when pidfds are unavailable. */
  fd: number;
}

/**
 * Opens `pid` if it is alive and still the process started at `startTime`
 * (no check when startTime is empty). null when it is gone or not the same.
 */
export function openProcess(pid: number, startTime?: string): ProcessHandle | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const mod = smallModule();
  let fd = -1;
  if (mod?.pidfdOpen) {
    try {
      fd = mod.pidfdOpen(pid);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') return null;
      if (code !== 'ENOSYS') throw e;
    }
  }
  // After the open: if the start time still matches now, the fd names that very process.
  const now = readStartTime(pid);
  if (now === null || (startTime && now !== startTime)) {
    if (fd >= 0) fs.closeSync(fd);
    return null;
  }
  return { pid, fd };
}

/** Sends signo; false when the process is already gone (ESRCH). */
export function signalProcess(h: ProcessHandle, signo: number): boolean {
  try {
    const mod = smallModule();
    if (h.fd >= 0 && mod?.pidfdSignal) mod.pidfdSignal(h.fd, signo);
    else process.kill(h.pid, signo);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

export function closeProcess(h: ProcessHandle): void {
  if (h.fd >= 0) fs.closeSync(h.fd);
  h.fd = -1;
}

/** open + signal + close: signals the process started at startTime, never a pid reuser. */
export function signalIfSame(pid: number, startTime: string | undefined, signo: number): boolean {
  const h = openProcess(pid, startTime);
  if (!h) return false;
  try {
    return signalProcess(h, signo);
  } finally {
    closeProcess(h);
  }
}

/**
 * Signals a process just spawned, through the pidfd the addon opened for it
 * (-1: by pid). Rollback of `create`: the init is the caller's child, which
 * the caller may reap at any time, and its pid then be reused.
 */
export function signalSpawned(pid: number, pidfd: number, signo: number): boolean {
  return signalProcess({ pid, fd: pidfd }, signo);
}
