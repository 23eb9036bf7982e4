/** `tsrun state <id>`: the OCI state document on stdout. */
import * as fs from 'node:fs';
import type { CommandRun } from '../cli/types';
import { ociState } from '../state/status';
import { loadState } from '../state/store';

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const rec = loadState(root, inv.positionals[0]);
  fs.writeSync(1, JSON.stringify(ociState(root, rec), null, 2) + '\n');
  return 0;
};
