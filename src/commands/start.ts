/** `tsrun start <id>`: releases a created container's init blocked on exec.fifo. */
import type { CommandRun } from '../cli/types';
import { TsrunError } from '../errors';
import { startContainer } from '../hooks/start';
import { containerDir } from '../state/paths';
import { withLock } from '../state/lock';
import { containerStatus } from '../state/status';
import { loadState } from '../state/store';
import { stepClock } from '../log/steps';

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const id = inv.positionals[0];
  const clock = stepClock('start');
  loadState(root, id); // ERR_NOT_EXIST before touching the root
  return withLock(root, id, () => {
    clock.mark('locked');
    const rec = loadState(root, id);
    const status = containerStatus(root, rec);
    clock.mark('state-read');
    switch (status) {
      case 'created':
        break;
      case 'stopped':
        throw new TsrunError('cannot start a container that has stopped');
      case 'running':
        throw new TsrunError('cannot start an already running container');
      default:
        throw new TsrunError(`cannot start a container in the ${status} state`);
    }
    // The one exec.fifo protocol, shared with `run`: one byte, O_NONBLOCK (ENXIO = init gone), unlink.
    // Plain exec-fifo release, or with start hooks: wait for the exec, then poststart (src/hooks/start.ts).
    startContainer(containerDir(root, id), rec);
    clock.mark('released');
    return 0;
  });
};
