/**
 * Keeps the kernel's cgroup migration lock warm while create prepares a
 * container with a new user namespace, so that writing its init's pid to
 * cgroup.procs does not wait for an RCU grace period (8-16 ms here; why and
 * how: addon/spawn/cgroup_warm.cc). The helper thread rewrites tsrun's own
 * pid into tsrun's own cgroup: a move to where it already is. Other creates
 * and exec need none of this: their process joins its cgroups itself,
 * without that lock (lifecycle/create.ts).
 */
import * as path from 'node:path';
import { addonWith } from '../native/addon';
import { ownCgroupDirs, readHostCgroups, type CgroupMount } from '../plan/host-cgroups';

interface WarmAddon {
  cgroupWarmStart(procsFile: string, pid: number): boolean;
  cgroupWarmStop(): void;
}

/** cgroup.procs of the cgroup this process is in, in the first hierarchy it can be found in. */
export function ownProcsFile(mounts: readonly CgroupMount[], self: ReadonlyMap<string, string>): string | undefined {
  const dir = ownCgroupDirs(mounts, self)[0];
  return dir === undefined ? undefined : path.join(dir, 'cgroup.procs');
}

let stop: (() => void) | undefined;

/**
 * Starts warming (create does, once it knows the init will be in a new user
 * namespace). Nothing happens a second time.
 */
export function startCgroupWarmUp(): void {
  if (stop) return;
  stop = () => undefined;
  let a: WarmAddon;
  let file: string | undefined;
  try {
    a = addonWith<WarmAddon>('cgroup warm-up', ['cgroupWarmStart', 'cgroupWarmStop']);
    const host = readHostCgroups();
    file = ownProcsFile(host.mounts, host.self);
  } catch {
    return; // only speed is lost; create reports a missing addon itself
  }
  if (file && a.cgroupWarmStart(file, process.pid)) stop = () => a.cgroupWarmStop();
}

/** Stops warming once the new process is in its cgroups (or on failure); always safe to call. */
export function stopCgroupWarmUp(): void {
  stop?.();
}
