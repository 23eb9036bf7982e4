/** A container's status, derived from its state record and /proc (never stored). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXEC_FIFO, containerDir } from './paths';
import { processAlive } from './proc';
import type { StateRecord } from './store';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

/**
 * - a provisional record (create not finished): creating while its creator
 *   lives, else stopped (the creator died: `delete` removes what it left)
 * - init not alive (missing, zombie, or pid reused) → stopped
 * - init alive and `<dir>/exec.fifo` present        → created (blocked until `start`)
 * - init alive, cgroup frozen                         → paused
 * - init alive                                        → running
 */
export function containerStatus(root: string, rec: StateRecord): ContainerStatus {
  if (rec.creating) return processAlive(rec.creating.pid, rec.creating.startTime) ? 'creating' : 'stopped';
  if (!rec.pid || !processAlive(rec.pid, rec.initStartTime)) return 'stopped';
  if (fs.existsSync(path.join(containerDir(root, rec.id), EXEC_FIFO))) return 'created';
  return isFrozen(rec) ? 'paused' : 'running';
}

/**
 * Whether the container's cgroup is frozen (`tsrun pause`): v1 freezer.state,
 * else v2 cgroup.freeze. Read directly rather than through src/cgroups, which
 * `state` would otherwise have to load on every call.
 */
function isFrozen(rec: StateRecord): boolean {
  const paths = (rec.cgroup as { paths?: Record<string, string> } | undefined)?.paths;
  if (!paths) return false;
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8').trim();
    } catch {
      return '';
    }
  };
  if (paths.freezer) return ['FROZEN', 'FREEZING'].includes(read(path.join(paths.freezer, 'freezer.state')));
  return paths[''] !== undefined && read(path.join(paths[''], 'cgroup.freeze')) === '1';
}

/** The state document of the OCI runtime spec, plus runc's `owner` (and `created`). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** Field order as runc prints it; pid is 0 once stopped (as runc). */
export function ociState(root: string, rec: StateRecord, status: ContainerStatus = containerStatus(root, rec)): OciState {
  const s: Record<string, unknown> = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
  };
  if (rec.annotations && Object.keys(rec.annotations).length > 0) s.annotations = rec.annotations;
  return s as unknown as OciState;
}
