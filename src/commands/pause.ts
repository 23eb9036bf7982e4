/** `tsrun pause <id>`: freezes every process of the container (v1 freezer.state / v2 cgroup.freeze). */
import type { CommandRun } from '../cli/types';
import { loadContainerCgroup, requireCgroup } from '../cgroups/container';
import { ERR_NOT_RUNNING, TsrunError } from '../errors';
import { withLock } from '../state/lock';

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const id = inv.positionals[0];
  return withLock(root, id, () => {
    const c = loadContainerCgroup(root, id);
    // runc: a running or created container can be paused; pausing a paused one is a no-op freeze.
    if (c.status === 'stopped') throw new TsrunError(ERR_NOT_RUNNING);
    requireCgroup(c, 'pause');
    c.cg.freeze();
    return 0;
  });
};
