/** For the commands: a container's state record, status (with "paused") and cgroup handle. */
import { ERR_NOT_RUNNING, TsrunError } from '../errors';
import { containerStatus, type ContainerStatus } from '../state/status';
import { loadState, type StateRecord } from '../state/store';
import { openCgroup, type OpenCgroup } from './manager';
import type { CgroupRecord } from './types';

export interface ContainerCgroup {
  rec: StateRecord;
  status: ContainerStatus;
  cg: OpenCgroup;
}

/** The record's cgroup (StateRecord.cgroup), or an error when the container has none. */
export function cgroupOf(rec: StateRecord): CgroupRecord | undefined {
  const c = rec.cgroup as CgroupRecord | undefined;
  return c && typeof c === 'object' && c.version === 1 ? c : undefined;
}

export function loadContainerCgroup(root: string, id: string): ContainerCgroup {
  const rec = loadState(root, id);
  return { rec, status: containerStatus(root, rec), cg: openCgroup(cgroupOf(rec)) };
}

/** A container with no cgroup record can't be paused, updated, ...: say so. */
export function requireCgroup(c: ContainerCgroup, what: string): void {
  if (c.cg.record.mode === 'disabled') throw new TsrunError(`cannot ${what} container ${c.rec.id}: it has no cgroup (created without cgroup support or with --cgroup-manager disabled)`);
}

export function requireAlive(c: ContainerCgroup): void {
  if (c.status === 'stopped') throw new TsrunError(ERR_NOT_RUNNING);
}
