/** `tsrun resume <id>`: thaws a paused container. */
import type { CommandRun } from '../cli/types';
import { loadContainerCgroup, requireCgroup } from '../cgroups/container';
import { TsrunError } from '../errors';
import { withLock } from '../state/lock';

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const id = inv.positionals[0];
  return withLock(root, id, () => {
    const c = loadContainerCgroup(root, id);
    requireCgroup(c, 'resume');
    if (c.status !== 'paused') throw new TsrunError('container not paused');
    c.cg.thaw();
    return 0;
  });
};
