/**
 * What can be done to a container's cgroups knowing only their directories
 * (the state record): list, signal, freeze and remove them. No controller
 * code: `kill` and `delete` load this, not the whole library (manager.ts
 * extends it with resources and stats).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError, describeSystemError } from '../errors';
import { sleepSync } from '../state/proc';
import * as freezer from './freezer';
import { cgReadOpt, cgWrite } from './fsutil';
import type { CgroupRecord } from './types';
import type { StateRecord } from '../state/store';

/** The record's cgroup (StateRecord.cgroup), or undefined when the container has none. */
export function cgroupOf(rec: StateRecord): CgroupRecord | undefined {
  const c = rec.cgroup as CgroupRecord | undefined;
  return c && typeof c === 'object' && c.version === 1 ? c : undefined;
}

/** [hierarchy key, directory] once per directory (v1 hierarchies mounted together share one). */
export function uniqueDirs(paths: Record<string, string>): [string, string][] {
  const seen = new Map<string, string>();
  for (const [k, d] of Object.entries(paths)) if (!seen.has(d)) seen.set(d, k);
  return [...seen.entries()].map(([d, k]) => [k, d]);
}

/**
 * How a single-threaded process joins these cgroups without the kernel's
 * threadgroup lock (create's init, exec's helper): the v1 "tasks" files to
 * write "0" to (itself) and the cgroup2 directory to be cloned into (clone3
 * CLONE_INTO_CGROUP).
 */
export function selfJoinTargets(paths: Record<string, string>): { tasksFiles: string[]; unifiedDir?: string } {
  const tasksFiles: string[] = [];
  let unifiedDir: string | undefined;
  for (const [k, d] of uniqueDirs(paths)) {
    if (k === '') unifiedDir = d;
    else tasksFiles.push(path.join(d, 'tasks'));
  }
  return { tasksFiles, unifiedDir };
}

function rmdirRetry(dir: string, attempts: number): void {
  for (let i = 0, delay = 10; ; i++, delay = Math.min(delay * 2, 200)) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (i + 1 >= attempts || (code !== 'EBUSY' && code !== 'ENOTEMPTY')) throw describeSystemError(`remove cgroup ${dir}`, e);
      sleepSync(delay);
    }
  }
}

/** Sub-cgroups first (a container may have made its own), then dir itself. Fake trees: their plain files too. */
function removeTree(dir: string, fake: boolean, attempts: number): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw describeSystemError(`read cgroup ${dir}`, e);
  }
  for (const e of entries) {
    if (e.isDirectory()) removeTree(path.join(dir, e.name), fake, attempts);
    else if (fake) fs.rmSync(path.join(dir, e.name), { force: true });
  }
  rmdirRetry(dir, attempts);
}

/** Signalling and removal of a container's cgroups, from its record alone. */
export class CgroupDirs {
  constructor(readonly record: CgroupRecord, protected readonly fake = false) {}

  /** Removes the directories this container created (deepest first), retrying while processes drain. */
  destroy(): void {
    // systemd removes the unit's cgroups (those it made) when the scope stops; ours follow.
    if (this.record.systemdUnit) (require('./systemd') as typeof import('./systemd')).stopScope(this.record.systemdUnit);
    const created = [...this.record.created].reverse();
    const leaves = new Set(Object.values(this.record.paths));
    let firstError: unknown;
    for (const d of created) {
      try {
        if (leaves.has(d)) removeTree(d, this.fake, 12);
        else {
          if (this.fake) for (const f of fs.readdirSync(d, { withFileTypes: true })) if (f.isFile()) fs.rmSync(path.join(d, f.name));
          rmdirRetry(d, 1); // a shared parent still in use by another container stays
        }
      } catch (e) {
        if (leaves.has(d) && firstError === undefined) firstError = e;
      }
    }
    if (firstError) throw firstError;
  }

  protected freezerDir(): { kind: freezer.FreezerKind; dir: string } | undefined {
    if (this.record.paths.freezer) return { kind: 'v1', dir: this.record.paths.freezer };
    if (this.record.paths[''] && (this.record.mode === 'v2' || this.record.mode === 'hybrid')) return { kind: 'v2', dir: this.record.paths[''] };
    return undefined;
  }

  freeze(): void {
    const f = this.freezerDir();
    if (!f) throw new TsrunError('cannot pause: no freezer (v1 freezer controller not mounted, no cgroup2 cgroup.freeze)');
    freezer.freeze(f.kind, f.dir);
  }

  thaw(): void {
    const f = this.freezerDir();
    if (!f) throw new TsrunError('cannot resume: no freezer (v1 freezer controller not mounted, no cgroup2 cgroup.freeze)');
    freezer.thaw(f.kind, f.dir);
  }

  isFrozen(): boolean {
    const f = this.freezerDir();
    return !!f && freezer.isFrozen(f.kind, f.dir);
  }

  /** The directory whose cgroup.procs lists the container's processes. */
  protected procsDir(): string | undefined {
    const p = this.record.paths;
    if (this.record.mode === 'v2') return p[''];
    return p.pids ?? p.freezer ?? p.devices ?? p.memory ?? p.cpu ?? p['name=systemd'] ?? Object.values(p)[0];
  }

  pids(): number[] {
    const dir = this.procsDir();
    if (!dir) return [];
    const out = new Set<number>();
    const walk = (d: string): void => {
      for (const l of (cgReadOpt(d, 'cgroup.procs') ?? '').split('\n')) if (l.trim()) out.add(Number(l));
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    };
    walk(dir);
    return [...out].sort((a, b) => a - b);
  }

  /** Signals every process (SIGKILL on v2: cgroup.kill); freezes around it so nothing forks meanwhile. */
  killAll(signal: number): void {
    const u = this.record.paths[''];
    if (signal === 9 && this.record.mode === 'v2' && u && fs.existsSync(path.join(u, 'cgroup.kill'))) {
      cgWrite('cgroup2', u, 'cgroup.kill', '1');
      return;
    }
    // Nothing left (the usual delete of a stopped container): no freeze/thaw round trip.
    if (this.pids().length === 0) return;
    let frozen = false;
    try {
      this.freeze();
      frozen = true;
    } catch {
      /* no freezer: signal anyway */
    }
    try {
      for (const pid of this.pids()) {
        try {
          process.kill(pid, signal);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
    } finally {
      if (frozen) this.thaw();
    }
  }
}
