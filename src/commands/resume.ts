/** `tsrun resume <id>`: thaws a paused container. */
import type { CommandRun } from '../cli/types';
import { loadContainerCgroup, requireCgroup } from '../cgroups/container';
import { TsrunError } from '../errors';

/**
 * Takes no container lock (runc takes none either): the lock's holder may itself be waiting on a
 * process frozen in this cgroup — `exec --ignore-paused` holds it until its helper, which joined the
 * frozen cgroup, reports — and only a resume can let it go on. Thawing is idempotent; a container
 * deleted meanwhile makes the thaw fail with the cgroup's path and errno.
 */
export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const id = inv.positionals[0];
  const c = loadContainerCgroup(root, id);
  requireCgroup(c, 'resume');
  if (c.status !== 'paused') throw new TsrunError('container not paused');
  c.cg.thaw();
  return 0;
};
