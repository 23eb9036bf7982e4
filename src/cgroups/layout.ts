/**
 * Which cgroup layout the host has, from /proc/self/mountinfo:
 *   v1     - only `cgroup` (v1) hierarchies
 *   v2     - only a `cgroup2` mount (the unified hierarchy)
 *   hybrid - v1 hierarchies for the controllers plus a cgroup2 mount
 *            (usually /sys/fs/cgroup/unified) with few or no controllers.
 * A fake tree (unit tests) is recognised by its directory shape instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMountinfoCgroups, parseProcCgroup, readHostCgroups, type CgroupMount } from '../plan/host-cgroups';
import { TsrunError } from '../errors';

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface V1Hierarchy {
  mountPoint: string;
  /** Root of the mount inside the hierarchy (mountinfo field 4). */
  root: string;
  /** Controllers of the hierarchy; named ones as "name=systemd". */
  controllers: string[];
}

export interface Layout {
  mode: 'v1' | 'v2' | 'hybrid';
  v1: V1Hierarchy[];
  unified?: { mountPoint: string; root: string };
  /** /proc/self/cgroup: hierarchy key ("memory", "name=systemd", "" for v2) → path. */
  own: Map<string, string>;
  /** A test tree of plain directories: mkdir emulates the kernel by copying the parent's file names. */
  fake: boolean;
}

export function detectLayout(mountinfo: string, procSelfCgroup: string): Layout {
  return layoutOf(parseMountinfoCgroups(mountinfo), parseProcCgroup(procSelfCgroup));
}

function layoutOf(mounts: readonly CgroupMount[], own: Map<string, string>): Layout {
  const v1: V1Hierarchy[] = [];
  const seen = new Set<string>();
  let unified: Layout['unified'];
  for (const m of mounts) {
    if (m.fsType === 'cgroup2') {
      // Prefer the one under /sys/fs/cgroup when there are several.
      if (!unified || (m.mountPoint.startsWith(DEFAULT_CGROUP_ROOT) && !unified.mountPoint.startsWith(DEFAULT_CGROUP_ROOT)))
        unified = { mountPoint: m.mountPoint, root: m.root };
      continue;
    }
    const key = [...m.controllers].sort().join(',');
    if (!key || seen.has(key)) continue; // bind mounts of the same hierarchy
    seen.add(key);
    v1.push({ mountPoint: m.mountPoint, root: m.root, controllers: m.controllers });
  }
  if (v1.length === 0 && !unified) throw new TsrunError('no cgroup filesystem is mounted (neither cgroup v1 nor cgroup2 in /proc/self/mountinfo)');
  const mode = v1.length === 0 ? 'v2' : unified ? 'hybrid' : 'v1';
  return { mode, v1, unified, own, fake: false };
}

function isCgroupFs(p: string): boolean {
  try {
    const t = Number(fs.statfsSync(p).type);
    return t === CGROUP_SUPER_MAGIC || t === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/**
 * A tree laid out like /sys/fs/cgroup: `<root>/cgroup.controllers` → v2;
 * otherwise each directory holding cgroup.procs is a v1 hierarchy named by
 * its controllers ("cpu,cpuacct", "systemd" → name=systemd), and a
 * directory holding cgroup.controllers is the unified hierarchy (hybrid).
 */
export function layoutFromTree(fsRoot: string): Layout {
  const own = new Map<string, string>();
  if (fs.existsSync(path.join(fsRoot, 'cgroup.controllers'))) {
    return { mode: 'v2', v1: [], unified: { mountPoint: fsRoot, root: '/' }, own, fake: !isCgroupFs(fsRoot) };
  }
  const v1: V1Hierarchy[] = [];
  let unified: Layout['unified'];
  let fake = true;
  for (const e of fs.readdirSync(fsRoot, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory()) continue;
    const dir = path.join(fsRoot, e.name);
    if (fs.existsSync(path.join(dir, 'cgroup.controllers'))) {
      unified = { mountPoint: dir, root: '/' };
    } else if (fs.existsSync(path.join(dir, 'cgroup.procs'))) {
      const controllers = e.name.split(',').map((c) => (c === 'systemd' ? 'name=systemd' : c));
      v1.push({ mountPoint: dir, root: '/', controllers });
    } else continue;
    fake = fake && !isCgroupFs(dir);
  }
  if (v1.length === 0 && !unified) throw new TsrunError(`no cgroup hierarchy found under ${fsRoot}`);
  return { mode: v1.length === 0 ? 'v2' : unified ? 'hybrid' : 'v1', v1, unified, own, fake };
}

/** The host's layout (mountinfo), or a tree's when `fsRoot` is given and is not /sys/fs/cgroup. */
export function hostLayout(fsRoot?: string): Layout {
  if (fsRoot && path.resolve(fsRoot) !== DEFAULT_CGROUP_ROOT) return layoutFromTree(fsRoot);
  // The same parse the plan's cgroup view uses (read once per process).
  const host = readHostCgroups();
  return layoutOf(host.mounts, host.self);
}

/** The v1 hierarchy holding `controller`, if mounted. */
export function v1Hierarchy(layout: Layout, controller: string): V1Hierarchy | undefined {
  return layout.v1.find((h) => h.controllers.includes(controller));
}
