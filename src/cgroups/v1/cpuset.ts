/** v1 cpuset controller. A new cpuset cgroup starts with empty cpus/mems: copy them from the parent first. */
import * as path from 'node:path';
import type { LinuxResources } from '../../config/types';
import type { SetCtx } from '../ctx';
import { cgReadOpt, cgWrite } from '../fsutil';

const C = 'cpuset';
type Cpu = NonNullable<LinuxResources['cpu']>;

export function isSet(c: Cpu | undefined): boolean {
  return !!c && !!(c.cpus || c.mems);
}

/** From the hierarchy's mount point down to `dir`, fill empty cpuset.cpus/mems from the parent. */
export function ensureParents(mountPoint: string, dir: string): void {
  const rel = path.relative(mountPoint, dir);
  if (!rel || rel.startsWith('..')) return;
  let parent = mountPoint;
  for (const part of rel.split('/')) {
    const cur = path.join(parent, part);
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if ((cgReadOpt(cur, f) ?? '') === '') {
        const v = cgReadOpt(parent, f) ?? '';
        if (v !== '') cgWrite(C, cur, f, v);
      }
    }
    parent = cur;
  }
}

export function set(dir: string, c: Cpu | undefined, _ctx: SetCtx): void {
  if (!c) return;
  if (c.cpus) cgWrite(C, dir, 'cpuset.cpus', c.cpus);
  if (c.mems) cgWrite(C, dir, 'cpuset.mems', c.mems);
}
