import type { CommandRun, Invocation } from '../cli/types';
import { TsrunError } from '../errors';
import { createContainer, type CreateOptions } from '../lifecycle/create';

/** The create flags shared by `create` and `run`. */
export function createOptions(inv: Invocation, cloneParent: boolean): CreateOptions {
  const id = inv.positionals[0];
  if (!id) throw new TsrunError(`"${inv.command}" requires exactly 1 argument: the container id`);
  const preserveFds = Number(inv.flags.preserveFds ?? 0);
  if (!Number.isInteger(preserveFds) || preserveFds < 0) throw new TsrunError(`--preserve-fds: invalid value "${inv.flags.preserveFds}"`);
  return {
    globals: inv.globals,
    id,
    bundle: String(inv.flags.bundle ?? '.'),
    pidFile: inv.flags.pidFile === undefined ? undefined : String(inv.flags.pidFile),
    consoleSocket: inv.flags.consoleSocket === undefined ? undefined : String(inv.flags.consoleSocket),
    noPivot: Boolean(inv.flags.noPivot),
    preserveFds,
    cloneParent,
  };
}

export const run: CommandRun = (inv) => {
  const opts = createOptions(inv, true);
  // --dry-run: the plan create would execute (src/commands/explain.ts), nothing created.
  if (inv.flags.dryRun) {
    // Not create's usual work: its bundle's code cache must come from a real create (cli/boot.ts).
    (globalThis as { [k: symbol]: boolean })[Symbol.for('tsrun.noCodeCache')] = true;
    return (require('./explain') as typeof import('./explain')).explain(opts, inv.flags.format);
  }
  createContainer(opts);
  return 0;
};
