/**
 * `<root>/<id>/fast`: what the launcher's C fast path (addon/launcher/fastpath.c)
 * needs to answer `kill` and `delete` without Node, flat, one field a line:
 *
 *   tsrun-fast 1
 *   pidns private|shared          the init has a pid namespace of its own
 *   poststop <n>                  poststop hooks to run at delete
 *   procs <dir>                   where the container's processes are listed (no line: no cgroup)
 *   freezer v1|v2 <dir>           what `kill --all` freezes around its signals (no line: none)
 *   cgkill <dir>                  cgroup2-only: SIGKILL to all through <dir>/cgroup.kill
 *   leaf <dir> | dir <dir>        each cgroup directory it created, parents first
 *   end
 *
 * Written by `create` right after the final state.json (so its presence means
 * the record is final, never the provisional one), and read only by the C.
 * Not written when something would not fit the format (a newline in a path)
 * or the C must not act (a fake cgroup tree, a systemd scope): the C then leaves every call to
 * the CLI. The init's pid and start time stay in state.json, which the C
 * reads too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupRecord } from '../cgroups/types';
import { describeSystemError } from '../errors';
import type { StateRecord } from './store';

export const FAST_FILE = 'fast';

/** The file's text for a committed record, or undefined when the C must leave this container to the CLI. */
export function fastRecord(rec: StateRecord, privatePidNs: boolean, poststopHooks: number): string | undefined {
  const lines = ['tsrun-fast 1', `pidns ${privatePidNs ? 'private' : 'shared'}`, `poststop ${poststopHooks}`];
  const cg = rec.cgroup as CgroupRecord | undefined;
  if (cg && cg.mode !== 'disabled') {
    // A fake tree is not cgroupfs; a systemd scope must be stopped over D-Bus at delete: the CLI's.
    if (cg.fake || cg.systemdUnit) return undefined;
    const p = cg.paths;
    // The same directory CgroupDirs.pids() lists (src/cgroups/dirs.ts).
    const procs = cg.mode === 'v2' ? p[''] : p.pids ?? p.freezer ?? p.devices ?? p.memory ?? p.cpu ?? p['name=systemd'] ?? Object.values(p)[0];
    if (procs) lines.push(`procs ${procs}`);
    // The same choices as CgroupDirs.freezerDir() and killAll().
    if (p.freezer) lines.push(`freezer v1 ${p.freezer}`);
    else if (p[''] && (cg.mode === 'v2' || cg.mode === 'hybrid')) lines.push(`freezer v2 ${p['']}`);
    if (cg.mode === 'v2' && p['']) lines.push(`cgkill ${p['']}`);
    const leaves = new Set(Object.values(p));
    for (const d of cg.created) lines.push(`${leaves.has(d) ? 'leaf' : 'dir'} ${d}`);
  }
  lines.push('end');
  if (lines.some((l) => l.includes('\n') || l.includes('\0'))) return undefined;
  if (lines.slice(3, -1).some((l) => !path.isAbsolute(l.replace(/^(freezer v[12]|[a-z]+) /, '')))) return undefined;
  return lines.join('\n') + '\n';
}

/** Writes `<dir>/fast` atomically (temp file, rename), or nothing when fastRecord declines. */
export function writeFastRecord(dir: string, text: string | undefined): void {
  if (text === undefined) return;
  const final = path.join(dir, FAST_FILE);
  const tmp = path.join(dir, `.${FAST_FILE}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, final);
  } catch (e) {
    throw describeSystemError(`write ${final}`, e);
  }
}
