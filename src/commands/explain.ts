/**
 * `tsrun explain [container-id] [--bundle DIR] [--format text|json]`, and
 * `tsrun create --dry-run`: what create would do with the bundle, resolved by
 * create's own first half (lifecycle/prepare.ts) and rendered (plan/explain.ts).
 * Creates nothing: no state dir, no cgroup, no process.
 */
import * as path from 'node:path';
import type { CommandRun, Invocation } from '../cli/types';
import { prepareCreate, type PrepareOptions } from '../lifecycle/prepare';
import { predictCgroupWrites } from '../cgroups';
import { explainJson, formatExplained } from '../plan/explain';
import { getLogger, writeFd } from '../log/logger';
import { ERR_INVALID_ID, validateId } from '../state/paths';

/** Prepares as create would and writes the explanation; exit 0 (errors throw, as create's). */
export function explain(opts: PrepareOptions, format: unknown): number {
  const prepared = prepareCreate(opts);
  for (const w of prepared.warnings) getLogger().warn(w);
  const e = explainJson(prepared, predictCgroupWrites(prepared.cgroup));
  writeFd(1, format === 'json' ? JSON.stringify(e, null, 2) + '\n' : formatExplained(e));
  return 0;
}

/** Without an id: the bundle directory's name, as a container id (else "container"). */
function defaultId(bundle: string): string {
  const name = path.basename(path.resolve(bundle));
  try {
    validateId(name);
    return name;
  } catch (e) {
    if ((e as Error).message.startsWith(ERR_INVALID_ID)) return 'container';
    throw e;
  }
}

export const run: CommandRun = (inv: Invocation) => {
  const bundle = typeof inv.flags.bundle === 'string' && inv.flags.bundle !== '' ? inv.flags.bundle : '.';
  const id = inv.positionals[0] ?? defaultId(bundle);
  return explain({ globals: inv.globals, id, bundle, noPivot: false, preserveFds: 0, assumeConsole: true }, inv.flags.format);
};
