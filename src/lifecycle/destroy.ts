/**
 * Tearing a container down: used by `delete`, by `run` after the process exits,
 * and by `create`'s rollback, so every path frees the same resources in the same order.
 */
import { TsrunError } from '../errors';
import { getLogger } from '../log/logger';
import { processAlive, waitForExit } from '../state/proc';
import { removeContainerDir, type StateRecord } from '../state/store';
import { containerDir } from '../state/paths';
import { releaseHostExtras } from './host-extras';
import { recordHooks } from '../hooks/start';
import { runPoststopHooks } from '../hooks/run';
import { containerCgroup } from './container-cgroup';
import { signalIfSame } from '../native/pidfd';

/**
 * Frees everything a container holds, then its state directory. The init
 * must already be dead (see killAndWait). Call it with the container's lock
 * held (withLock; re-entrant). `rec` is the state record, or just the init
 * pid (create's rollback, before a record exists), or absent.
 */
export function destroyContainer(root: string, id: string, rec?: StateRecord | number): void {
  const log = getLogger();
  log.debug('destroying container', { id, pid: typeof rec === 'number' ? rec : rec?.pid });
  // Anything left in the container's cgroup is killed, and the cgroups it created removed.
  const cgroup = rec && typeof rec === 'object' ? containerCgroup(rec) : undefined;
  if (cgroup) {
    cgroup.killAll(9);
    cgroup.destroy();
  }
  // poststop hooks run after the state is gone (below).
  releaseHostExtras(containerDir(root, id));
  removeContainerDir(root, id);
  // runtime.md step 13: poststop hooks after the container is deleted, failures only warn.
  if (rec && typeof rec === 'object') {
    const hooks = recordHooks(rec);
    if (hooks?.poststop?.length) {
      const state = { ociVersion: rec.ociVersion, id: rec.id, status: 'stopped' as const, bundle: rec.bundle, annotations: rec.annotations ?? {} };
      runPoststopHooks(hooks, state, (m) => log.warn(m));
    }
  }
}

/**
 * Sends `signal` (default SIGKILL) to the init and waits (bounded) until it is
 * gone or a zombie. Throws TsrunError("container init still running") on timeout,
 * as runc does after its 10 s.
 */
export function killAndWait(rec: StateRecord, signal = 9, timeoutMs = 10_000): void {
  if (!rec.pid || !processAlive(rec.pid, rec.initStartTime)) return;
  try {
    // A pidfd, opened before the start time is checked: never a process that reused the pid.
    signalIfSame(rec.pid, rec.initStartTime, signal);
  } catch (e) {
    throw new TsrunError(`kill container ${rec.id} init (pid ${rec.pid}): ${(e as Error).message}`);
  }
  // SIGKILL through the cgroup too: it reaches processes outside a private pid namespace,
  // and it thaws a paused container, whose frozen init could not die otherwise.
  if (signal === 9) containerCgroup(rec)?.killAll(9);
  if (!waitForExit(rec.pid, rec.initStartTime, timeoutMs)) throw new TsrunError('container init still running');
}
