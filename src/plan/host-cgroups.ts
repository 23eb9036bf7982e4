/** What the host's cgroup mounts look like, read from /proc/self/mountinfo and /proc/self/cgroup. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CgroupMount {
  /** Mount point on the host, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** "cgroup" (v1) or "cgroup2". */
  fsType: 'cgroup' | 'cgroup2';
  /** v1 super options naming the controllers, e.g. ["cpu","cpuacct"] or ["name=systemd"]. */
  controllers: string[];
  /** Root of the mount within its hierarchy (field 4 of mountinfo). */
  root: string;
}

export function parseMountinfoCgroups(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fsType = right[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const superOpts = (right[2] ?? '').split(',');
    const controllers = fsType === 'cgroup' ? superOpts.filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('clone_children') && o !== 'noprefix' && !o.startsWith('release_agent') && o !== 'xattr') : [];
    out.push({ mountPoint: unescape(left[4]), fsType, controllers, root: unescape(left[3]) });
  }
  return out;
}

/** /proc/self/cgroup → map from hierarchy key ("memory", "name=systemd", "" for v2) to path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    const ctrls = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    if (ctrls === '') m.set('', p);
    else for (const c of ctrls.split(',')) m.set(c, p);
  }
  return m;
}

/** The host directory of this process's own cgroup in each hierarchy where it is visible, in mount order. */
export function ownCgroupDirs(mounts: readonly CgroupMount[], self: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const m of mounts) {
    const p = self.get(m.fsType === 'cgroup2' ? '' : m.controllers[0] ?? '');
    if (p === undefined) continue;
    if (m.root !== '/' && p !== m.root && !p.startsWith(`${m.root}/`)) continue;
    out.push(path.join(m.mountPoint, m.root === '/' ? p : p.slice(m.root.length)));
  }
  return out;
}

let hostCgroups: { mounts: CgroupMount[]; self: Map<string, string> } | undefined;

/** Read once per process: tsrun's own mounts and cgroups do not change while one command runs. */
export function readHostCgroups(): { mounts: CgroupMount[]; self: Map<string, string> } {
  hostCgroups ??= {
    mounts: parseMountinfoCgroups(fs.readFileSync('/proc/self/mountinfo', 'utf8')),
    self: parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8')),
  };
  return hostCgroups;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
