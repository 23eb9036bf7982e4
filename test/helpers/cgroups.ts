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

/** The cgroup2 mount point (hybrid: /sys/fs/cgroup/unified), if any. */
function unifiedMount(): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.startsWith('cgroup2 ')) return pre.split(' ')[4];
  }
  return undefined;
}

/** Controllers enabled in the cgroup2 root's subtree_control now (to give to restoreUnifiedRoot later). */
export function unifiedRootControllers(): string[] {
  const u = unifiedMount();
  if (!u) return [];
  try {
    return fs.readFileSync(path.join(u, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Disables in the cgroup2 root's subtree_control what was enabled since
 * `before` (a hybrid host's hugetlb fallback enables it down the path, as
 * runc does on v2, and nobody disables it: while enabled, hugetlb can no
 * longer be bound to a v1 hierarchy). Best effort: EBUSY while another
 * cgroup still enables it below.
 */
export function restoreUnifiedRoot(before: string[]): void {
  const u = unifiedMount();
  if (!u) return;
  const file = path.join(u, 'cgroup.subtree_control');
  for (const c of unifiedRootControllers()) {
    if (before.includes(c)) continue;
    try {
      fs.writeFileSync(file, `-${c}`);
    } catch {
      /* still in use below */
    }
  }
}
