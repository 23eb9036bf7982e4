/** What /proc says about a process: start time, liveness, and sync sleeping/waiting. */
import * as fs from 'node:fs';

export interface ProcStat {
  /** Field 3: R, S, D, Z, X, T, t, ... */
  state: string;
  /** Field 22: start time in clock ticks since boot, as a decimal string. */
  startTime: string;
  /** Field 4. */
  ppid: number;
}

/**
 * Parses /proc/<pid>/stat. The comm field (2) may contain spaces and
 * parentheses, so fields are counted from the LAST ')'. Returns null when
 * the process does not exist.
 */
export function readProcStat(pid: number): ProcStat | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const file = `/proc/${pid}/stat`;
  // The usual answer for a stopped container: checked without throwing (a first
  // ENOENT costs a command ~0.4 ms of Node's error machinery).
  if (!fs.existsSync(file)) return null;
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    return null;
  }
  return parseProcStat(text);
}

export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // After ") ": field 3 is index 0, so field N is index N-3.
  const rest = text.slice(close + 2).split(' ');
  if (rest.length < 20) return null;
  return { state: rest[0], ppid: Number(rest[1]), startTime: rest[19] };
}

/** Field 22 of /proc/<pid>/stat, or null when there is no such process. */
export function readStartTime(pid: number): string | null {
  return readProcStat(pid)?.startTime ?? null;
}

/**
 * True when `pid` exists, is not a zombie (Z) or dead (X), and (when given)
 * still has the start time recorded for it, i.e. the pid was not reused.
 */
export function processAlive(pid: number, startTime?: string): boolean {
  const st = readProcStat(pid);
  if (!st) return false;
  if (st.state === 'Z' || st.state === 'X') return false;
  if (startTime !== undefined && startTime !== '' && st.startTime !== startTime) return false;
  return true;
}

const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` milliseconds (no event loop, no handles). */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(SLEEP_CELL, 0, 0, ms);
}

/**
 * Polls until the process is gone (or a zombie). Returns true if it died
 * within `timeoutMs`. Backs off from 1 ms to 50 ms.
 */
export function waitForExit(pid: number, startTime: string | undefined, timeoutMs = 10_000): boolean {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (!processAlive(pid, startTime)) return true;
    if (Date.now() >= deadline) return false;
    sleepSync(delay);
    delay = Math.min(delay * 2, 50);
  }
}
