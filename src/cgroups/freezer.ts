/**
 * Freezing: v1 freezer.state (FROZEN / THAWED, FREEZING while in progress),
 * v2 cgroup.freeze (1/0) with cgroup.events "frozen 1" once done.
 */
import * as path from 'node:path';
import { TsrunError } from '../errors';
import { sleepSync } from '../state/proc';
import { cgReadOpt, cgWrite } from './fsutil';

export type FreezerKind = 'v1' | 'v2';

function v2Frozen(dir: string): boolean {
  return /^frozen 1$/m.test(cgReadOpt(dir, 'cgroup.events') ?? '');
}

export function isFrozen(kind: FreezerKind, dir: string): boolean {
  if (kind === 'v1') {
    const s = cgReadOpt(dir, 'freezer.state');
    return s === 'FROZEN' || s === 'FREEZING';
  }
  return cgReadOpt(dir, 'cgroup.freeze') === '1';
}

/** Freeze and wait until the kernel says so (bounded: ~10 s). */
export function freeze(kind: FreezerKind, dir: string, timeoutMs = 10_000): void {
  const start = Date.now();
  if (kind === 'v2') {
    cgWrite('freezer', dir, 'cgroup.freeze', '1');
    for (let d = 1; !v2Frozen(dir); d = Math.min(d * 2, 50)) {
      if (Date.now() - start > timeoutMs) throw new TsrunError(`unable to freeze ${dir}: cgroup.events never reported frozen 1`);
      sleepSync(d);
    }
    return;
  }
  // v1: a task stuck in an uninterruptible sleep can keep the cgroup FREEZING;
  // re-writing FROZEN retries, and after a while runc thaws and tries again.
  for (let i = 0; ; i++) {
    if (i % 25 === 24) {
      cgWrite('freezer', dir, 'freezer.state', 'THAWED');
      sleepSync(10);
    }
    cgWrite('freezer', dir, 'freezer.state', 'FROZEN');
    const s = cgReadOpt(dir, 'freezer.state');
    if (s === 'FROZEN') return;
    if (Date.now() - start > timeoutMs) {
      cgWrite('freezer', dir, 'freezer.state', 'THAWED');
      throw new TsrunError(`unable to freeze ${path.join(dir, 'freezer.state')}: still ${s}`);
    }
    sleepSync(Math.min(1 + i, 10));
  }
}

export function thaw(kind: FreezerKind, dir: string): void {
  if (kind === 'v2') {
    cgWrite('freezer', dir, 'cgroup.freeze', '0');
    return;
  }
  cgWrite('freezer', dir, 'freezer.state', 'THAWED');
  for (let i = 0; i < 1000 && cgReadOpt(dir, 'freezer.state') !== 'THAWED'; i++) sleepSync(1);
}
