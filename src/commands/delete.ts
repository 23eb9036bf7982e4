/** `tsrun delete [--force] <id>`. */
import type { CommandRun } from '../cli/types';
import { ERR_NOT_EXIST, TsrunError } from '../errors';
import { destroyContainer, killAndWait } from '../lifecycle/destroy';
import * as fs from 'node:fs';
import { lockPath, withLock } from '../state/lock';
import { containerStatus } from '../state/status';
import { containerDirExists, loadState, type StateRecord } from '../state/store';
import { stepClock } from '../log/steps';

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const id = inv.positionals[0];
  const force = inv.flags.force === true;
  let rec: StateRecord | undefined;
  try {
    rec = loadState(root, id);
  } catch (e) {
    if (!(e instanceof TsrunError && e.message === ERR_NOT_EXIST)) throw e;
    // runc: `delete --force` of a missing container succeeds.
    if (!force) throw e;
    // A directory without state.json, or a lock alone, is a create that died half-way:
    // clean it up once its creator no longer holds the lock (a dead owner's lock is
    // taken over, and released: removed).
    if (containerDirExists(root, id) || fs.existsSync(lockPath(root, id))) {
      withLock(root, id, () => {
        try {
          loadState(root, id);
        } catch {
          destroyContainer(root, id);
        }
      });
    }
    return 0;
  }
  const clock = stepClock('delete');
  return withLock(root, id, () => {
    clock.mark('locked');
    try {
      rec = loadState(root, id);
    } catch (e) {
      if (force && e instanceof TsrunError && e.message === ERR_NOT_EXIST) return 0;
      throw e;
    }
    const status = containerStatus(root, rec);
    switch (status) {
      case 'stopped':
        // A create that died before committing (its lock was stale, or we would still
        // be waiting for it): its init may live on, in no cgroup yet.
        if (rec.creating) killAndWait(rec);
        break;
      case 'created':
        // As runc: a created container is killed and destroyed without --force.
        killAndWait(rec);
        break;
      default:
        if (!force) throw new TsrunError(`cannot delete container ${id} that is not stopped: ${status}`);
        // HOOK(paused): a paused container must be thawed after SIGKILL for it to die.
        killAndWait(rec);
    }
    clock.mark(`${status}: processes gone`);
    destroyContainer(root, id, rec);
    clock.mark('cgroups and state removed');
    return 0;
  });
};
