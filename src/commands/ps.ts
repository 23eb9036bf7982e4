/**
 * `tsrun ps [--format table|json] <id> [ps options...]`: the container's
 * processes (host pids from its cgroup). json: a JSON array of pids; table:
 * ps(1) (default `-ef`) filtered to those pids by the header's PID column, as runc.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { CommandRun } from '../cli/types';
import { loadContainerCgroup, requireCgroup } from '../cgroups/container';
import { TsrunError } from '../errors';

export function filterPs(output: string, pids: number[]): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const idx = header.trim().split(/\s+/).indexOf('PID');
  if (idx < 0) throw new TsrunError("couldn't find PID field in ps output");
  const want = new Set(pids);
  const out = [header];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const f = line.trim().split(/\s+/);
    const p = Number(f[idx]);
    if (!Number.isInteger(p)) throw new TsrunError(`unexpected pid ${JSON.stringify(f[idx])}`);
    if (want.has(p)) out.push(line);
  }
  return out.join('\n') + '\n';
}

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const [id, ...psArgs] = inv.positionals;
  const c = loadContainerCgroup(root, id);
  requireCgroup(c, 'list processes of');
  const pids = c.cg.pids();
  if (inv.flags.format === 'json') {
    // runc encodes a nil slice: `null` when there are no processes.
    fs.writeSync(1, (pids.length ? JSON.stringify(pids) : 'null') + '\n');
    return 0;
  }
  const r = spawnSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (r.error) throw new TsrunError(`exec ps: ${r.error.message}`);
  const output = (r.stdout ?? '') + (r.stderr ?? '');
  if (r.status !== 0) throw new TsrunError(`ps ${(psArgs.length ? psArgs : ['-ef']).join(' ')} failed: ${output.trim()}`);
  fs.writeSync(1, filterPs(output, pids));
  return 0;
};
