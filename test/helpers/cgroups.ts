/** Cgroup clean-up and host facts shared by the cgroup integration tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleepSync } from '../../src/state/proc';

/**
 * Removes the cgroup directory `d` and everything under it, deepest first:
 * thaws it, SIGKILLs what is left in it, then rmdir with retries while the
 * processes drain. A missing directory is fine (nothing was left).
 */
export function killAndRemoveCgroup(d: string): void {
  if (!fs.existsSync(d)) return;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) killAndRemoveCgroup(path.join(d, e.name));
  try {
    if (fs.existsSync(path.join(d, 'freezer.state'))) fs.writeFileSync(path.join(d, 'freezer.state'), 'THAWED');
    for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } catch {
    /* empty or gone */
  }
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(d);
      return;
    } catch {
      sleepSync(20);
    }
  }
}

/** major:minor of some whole block device, not zram or loop (blkio throttles need a real one). */
export function blockDev(): { major: number; minor: number } | undefined {
  for (const b of fs.existsSync('/sys/block') ? fs.readdirSync('/sys/block').sort() : []) {
    let dev = '';
    try {
      dev = fs.readFileSync(`/sys/block/${b}/dev`, 'utf8').trim();
    } catch {
      continue;
    }
    const m = /^(\d+):(\d+)$/.exec(dev);
    if (m && !b.startsWith('zram') && !b.startsWith('loop')) return { major: Number(m[1]), minor: Number(m[2]) };
  }
  return undefined;
}
