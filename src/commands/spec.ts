/** `tsrun spec [--bundle DIR] [--rootless]`: writes a template config.json. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandRun } from '../cli/types';
import { TsrunError, describeSystemError } from '../errors';
import { defaultSpec } from '../spec/default';

export const run: CommandRun = (inv) => {
  const bundle = typeof inv.flags.bundle === 'string' && inv.flags.bundle !== '' ? inv.flags.bundle : '.';
  try {
    if (!fs.statSync(bundle).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    throw describeSystemError(`chdir ${bundle}`, e);
  }
  const rootless = inv.flags.rootless === true ? { uid: process.getuid!(), gid: process.getgid!() } : undefined;
  const spec = defaultSpec(rootless ? { rootless } : {});
  const file = path.join(bundle, 'config.json');
  // runc indents with tabs; 'wx' makes the "exists" check and the creation one step.
  try {
    fs.writeFileSync(file, JSON.stringify(spec, null, '\t'), { flag: 'wx', mode: 0o666 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new TsrunError('File config.json exists. Remove it first');
    throw describeSystemError(`write ${file}`, e);
  }
  return 0;
};
