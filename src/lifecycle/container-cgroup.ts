/**
 * A container's cgroup seen from its state record. Small on purpose: `kill`
 * imports it, and src/cgroups is only loaded for containers that have one.
 */
import type { OpenCgroup } from '../cgroups';
import type { StateRecord } from '../state/store';

/** The container's cgroup, loading src/cgroups only for containers that have one. */
export function containerCgroup(rec: StateRecord): OpenCgroup | undefined {
  if (!rec.cgroup) return undefined;
  const { openCgroup } = require('../cgroups') as typeof import('../cgroups');
  const { cgroupOf } = require('../cgroups/container') as typeof import('../cgroups/container');
  return openCgroup(cgroupOf(rec));
}

/**
 * runc: with its own pid namespace, the kernel kills every process when the
 * init dies; without one, SIGKILL has to reach the whole cgroup.
 */
export function hasPrivatePidNs(rec: StateRecord): boolean {
  const ns = (rec.config as { linux?: { namespaces?: { type: string; path?: string }[] } } | undefined)?.linux?.namespaces;
  return (ns ?? []).some((n) => n.type === 'pid' && !n.path);
}
