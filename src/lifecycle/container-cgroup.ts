/**
 * A container's cgroup seen from its state record. Small on purpose: `kill`
 * and `delete` import it, and only the directory-level part of src/cgroups
 * (dirs.ts: signal, freeze, remove) is loaded, for containers that have one.
 */
import type { CgroupDirs } from '../cgroups/dirs';
import type { StateRecord } from '../state/store';

/** The container's cgroup directories, or undefined when it has none. */
export function containerCgroup(rec: StateRecord): CgroupDirs | undefined {
  if (!rec.cgroup) return undefined;
  const { CgroupDirs, cgroupOf } = require('../cgroups/dirs') as typeof import('../cgroups/dirs');
  const record = cgroupOf(rec);
  return record && record.mode !== 'disabled' ? new CgroupDirs(record, record.fake === true) : undefined;
}

/**
 * runc: with its own pid namespace, the kernel kills every process when the
 * init dies; without one, SIGKILL has to reach the whole cgroup.
 */
export function hasPrivatePidNs(rec: StateRecord): boolean {
  const ns = (rec.config as { linux?: { namespaces?: { type: string; path?: string }[] } } | undefined)?.linux?.namespaces;
  return (ns ?? []).some((n) => n.type === 'pid' && !n.path);
}
