/** `tsrun kill [--all] <id> [signal]`: signals the container's init. */
import type { CommandRun } from '../cli/types';
import { ERR_NOT_RUNNING, TsrunError } from '../errors';
import { getLogger } from '../log/logger';
import { parseSignal } from '../signals';
import { processAlive } from '../state/proc';
import { containerStatus } from '../state/status';
import { loadState } from '../state/store';
import { containerCgroup, hasPrivatePidNs } from '../lifecycle/container-cgroup';
import { signalIfSame } from '../native/pidfd';

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const [id, sig] = inv.positionals;
  const all = inv.flags.all === true;
  // Same order as runc: the container first, then the signal.
  const rec = loadState(root, id);
  const signo = parseSignal(sig);
  const status = containerStatus(root, rec);
  // A paused container can be signalled too (the signal is delivered on resume), as runc.
  // A create in progress may have no init yet (pid 0 would signal our own process group).
  if (status === 'stopped' || (status === 'creating' && !(rec.pid > 0 && processAlive(rec.pid, rec.initStartTime)))) {
    // runc: --all reaches whatever is left in the cgroup even once the init is gone: without a
    // private pid namespace the init's children outlive it, holding the stdio an engine waits
    // on (containerd's shim sends `kill --all <id> 9` for exactly that after the init exits).
    if (all) {
      containerCgroup(rec)?.killAll(signo);
      return 0;
    }
    throw new TsrunError(ERR_NOT_RUNNING);
  }
  // runc: SIGKILL to a container without its own pid namespace (or --all) reaches its whole cgroup.
  if (all || (signo === 9 && !hasPrivatePidNs(rec))) containerCgroup(rec)?.killAll(signo);
  // Through a pidfd opened before the start time is checked: never a process that reused the pid.
  let sent: boolean;
  try {
    sent = signalIfSame(rec.pid, rec.initStartTime, signo);
  } catch (e) {
    throw new TsrunError(`kill container ${id} (pid ${rec.pid}): ${(e as Error).message}`);
  }
  if (!sent) {
    if (all) return 0;
    throw new TsrunError(ERR_NOT_RUNNING);
  }
  getLogger().debug('signalled container', { id, pid: rec.pid, signal: signo });
  return 0;
};
