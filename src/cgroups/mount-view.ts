/**
 * What the container's "cgroup" mount shows on v1/hybrid hosts: each
 * hierarchy's bind source must be the CONTAINER's cgroup (as runc), not the
 * runtime's own. The plan builder (plan/build.ts cgroupSteps) binds
 * `self.get(key)` of each mount; this swaps in the container's paths.
 */
import * as path from 'node:path';
import type { CgroupMount } from '../plan/host-cgroups';
import type { CgroupRecord } from './types';

export function containerCgroupView(host: { mounts: CgroupMount[]; self: Map<string, string> }, rec: CgroupRecord): { mounts: CgroupMount[]; self: Map<string, string> } {
  const self = new Map(host.self);
  for (const m of host.mounts) {
    const key = m.fsType === 'cgroup2' ? '' : m.controllers[0];
    const dir = rec.paths[key];
    if (!dir) continue;
    const rel = path.posix.relative(m.mountPoint, dir);
    if (rel.startsWith('..') || path.posix.isAbsolute(rel)) continue;
    const inHierarchy = path.posix.join(m.root || '/', rel);
    if (m.fsType === 'cgroup2') self.set('', inHierarchy);
    else for (const c of m.controllers) self.set(c, inHierarchy);
  }
  return { mounts: host.mounts, self };
}
