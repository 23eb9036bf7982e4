/** For the commands: a container's state record, status (with "paused") and cgroup handle. */
import { ERR_NOT_RUNNING, TsrunError } from '../errors';
import { containerStatus, type ContainerStatus } from '../state/status';
import type { LinuxResources } from '../config/types';
import { containerDir } from '../state/paths';
import { loadState, writeState, type StateRecord } from '../state/store';
import { openCgroup, type OpenCgroup } from './manager';
import { cgroupOf } from './dirs';

export interface ContainerCgroup {
  rec: StateRecord;
  status: ContainerStatus;
  cg: OpenCgroup;
}

export { cgroupOf } from './dirs';

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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The resources after `update` (runc keeps them in its state): memory, cpu,
 * pids and blockIO field by field (only the given fields change), the other
 * keys replaced when given; device rules never change.
 */
export function mergeResources(old: LinuxResources | undefined, upd: LinuxResources): LinuxResources {
  const out: Obj = { ...(old ?? {}) };
  for (const [k, v] of Object.entries(upd as Obj)) {
    if (v === undefined || k === 'devices') continue;
    out[k] = ['memory', 'cpu', 'pids', 'blockIO'].includes(k) && isObj(v) && isObj(out[k]) ? { ...(out[k] as Obj), ...v } : v;
  }
  return out as LinuxResources;
}

/** Records the updated resources in the container's state (config.linux.resources), as runc does. */
export function saveResources(root: string, rec: StateRecord, upd: LinuxResources): void {
  const cfg = (isObj(rec.config) ? rec.config : (rec.config = {})) as Obj;
  const linux = (isObj(cfg.linux) ? cfg.linux : (cfg.linux = {})) as Obj;
  linux.resources = mergeResources(linux.resources as LinuxResources | undefined, upd);
  writeState(containerDir(root, rec.id), rec);
}
