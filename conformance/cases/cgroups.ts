/**
 * linux.resources and linux.cgroupsPath (config-linux.md "Control groups",
 * "Device allowlist"), checked from inside the container (its cgroup mount
 * and /proc/self/cgroup) and, for the path, from the host (/proc/<pid>/cgroup).
 * On a host with v1 controllers every runtime uses v1 files; on a pure
 * cgroup2 host the v2 file names are read instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ownCgroupDirs, readHostCgroups } from '../../src/plan/host-cgroups';
import { absentPageSize, controllerOn, host, need, needAll, needs } from '../../test/helpers/host';
import { restoreUnifiedRoot, unifiedRootControllers } from '../../test/helpers/cgroups';
import { Case, check, Harness, skipUnless } from '../harness';

const TAG = `conf-cg-${process.pid}`;
let unifiedBefore: string[] = [];
const v2Only = (): boolean => fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
/** On a v1/hybrid host the cases read the v1 files: the controller must be on a v1 hierarchy (test/helpers/host.ts). */
const needV1Unless2 = (ctrl: string): void => skipUnless(v2Only() ? needs.controller(ctrl) : needs.v1(ctrl));
/** The v1 controllers whose cgroup path the path cases check: those of memory, pids, cpu this host has on v1. */
const pathControllers = (): string[] => (v2Only() ? [''] : ['memory', 'pids', 'cpu'].filter((c) => controllerOn(c) === 'v1'));

/** Prints `name=value` for each file (relative to /sys/fs/cgroup inside the container). */
function readInside(h: Harness, files: Record<string, string>, edit: (c: Record<string, any>) => void): Record<string, string> {
  const script = Object.entries(files)
    .map(([k, f]) => `echo "${k}=$(cat /sys/fs/cgroup/${f} 2>&1 | tr '\\n' ' ')"`)
    .join('; ');
  const out = h.probe(script, edit);
  const got: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) got[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return got;
}

function expect(got: Record<string, string>, want: Record<string, string | RegExp>): void {
  for (const [k, w] of Object.entries(want)) {
    const v = got[k];
    check(typeof w === 'string' ? v === w : w.test(v ?? ''), `${k}: got ${JSON.stringify(v)}, want ${w}`);
  }
}

/**
 * The runtimes make TAG as the parent of the path cases' cgroups, and none of
 * them (runc and crun neither) removes a parent it made: the suite does, in
 * every hierarchy, at its root (absolute cgroupsPath) and under the suite's
 * own cgroup, which the runtimes inherit (relative cgroupsPath). rmdir only
 * removes an empty directory.
 */
function removeTagDirs(): void {
  const { mounts, self } = readHostCgroups();
  for (const dir of new Set([...mounts.map((m) => m.mountPoint), ...ownCgroupDirs(mounts, self)])) {
    try {
      fs.rmdirSync(path.join(dir, TAG));
    } catch {
      /* not made in this hierarchy, or already gone */
    }
  }
}

/** A running container's cgroup of `ctrl` ("" = unified) as the host sees it. */
function hostCgroup(pid: number, ctrl: string): string | undefined {
  for (const l of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, c, p] = l.split(':');
    if (c === undefined) continue;
    if (ctrl === '' ? c === '' : c.split(',').includes(ctrl)) return p;
  }
  return undefined;
}

export const cgroupCases: Case[] = [
  {
    name: 'cgroups-memory-limit',
    description: 'linux.resources.memory.limit (and swap) is the limit of the container\'s memory cgroup, visible from inside',
    run(h) {
      needV1Unless2('memory');
      const limit = 64 * 1024 * 1024;
      // Swap only where the host accounts it (memory.memsw.* / memory.swap.max).
      const swap = v2Only() ? fs.existsSync('/sys/fs/cgroup/memory.swap.max') || fs.readdirSync('/sys/fs/cgroup').some((d) => fs.existsSync(path.join('/sys/fs/cgroup', d, 'memory.swap.max'))) : host().v1Files.memorySwap;
      const edit = (c: Record<string, any>): void => {
        c.linux.resources = { memory: { limit, ...(swap ? { swap: limit * 2 } : {}) } };
      };
      if (v2Only()) return expect(readInside(h, { max: 'memory.max', ...(swap ? { swap: 'memory.swap.max' } : {}) }, edit), { max: String(limit), ...(swap ? { swap: String(limit) } : {}) });
      expect(readInside(h, { limit: 'memory/memory.limit_in_bytes', ...(swap ? { memsw: 'memory/memory.memsw.limit_in_bytes' } : {}) }, edit), { limit: String(limit), ...(swap ? { memsw: String(limit * 2) } : {}) });
    },
  },
  {
    name: 'cgroups-pids-limit',
    description: 'linux.resources.pids.limit is pids.max of the container\'s cgroup, and forking past it fails',
    run(h) {
      needV1Unless2('pids');
      const file = v2Only() ? 'pids.max' : 'pids/pids.max';
      const out = h.probe(`cat /sys/fs/cgroup/${file}; for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait`, (c) => {
        c.linux.resources = { pids: { limit: 4 } };
      });
      check(out.split('\n')[0] === '4', `pids.max: ${JSON.stringify(out)}`);
      check(/can't fork|Resource temporarily unavailable/.test(h.stderr() + out), `no fork failure: stdout=${JSON.stringify(out)} stderr=${JSON.stringify(h.stderr().slice(0, 300))}`);
    },
  },
  {
    name: 'cgroups-cpu',
    description: 'linux.resources.cpu shares, quota and period are the container\'s cpu cgroup values',
    run(h) {
      needV1Unless2('cpu');
      const edit = (c: Record<string, any>): void => {
        c.linux.resources = { cpu: { shares: 512, quota: 25000, period: 100000 } };
      };
      if (v2Only()) return expect(readInside(h, { max: 'cpu.max', weight: 'cpu.weight' }, edit), { max: '25000 100000', weight: '20' });
      expect(readInside(h, { shares: 'cpu/cpu.shares', quota: 'cpu/cpu.cfs_quota_us', period: 'cpu/cpu.cfs_period_us' }, edit), { shares: '512', quota: '25000', period: '100000' });
    },
  },
  {
    name: 'cgroups-device-deny',
    description: 'a device denied by linux.resources.devices cannot be opened from inside (EPERM); an allowed one can',
    notApplicable: { crun: 'crun 1.8 adds an allow rule for every linux.devices entry, so a declared device cannot be denied (runc 1.1 and tsrun follow linux.resources.devices)' },
    run(h) {
      // v1 devices cgroup, or cgroup2's eBPF device filter (no controller to check there).
      if (!v2Only()) skipUnless(needs.v1('devices'));
      // /dev/full declared in linux.devices, so no default allow for it follows the deny.
      const out = h.probe('echo x > /dev/full; head -c 3 /dev/zero | wc -c', (c) => {
        c.linux.devices = [{ path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666 }];
        c.linux.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 7, access: 'rwm' }] };
      });
      check(/\/dev\/full: Operation not permitted/.test(h.stderr()), `writing /dev/full: ${JSON.stringify(h.stderr().slice(0, 300))}`);
      check(out.trim() === '3', `/dev/zero: ${JSON.stringify(out)}`);
    },
  },
  {
    name: 'cgroups-path-absolute',
    description: 'an absolute linux.cgroupsPath is the container\'s cgroup path in each hierarchy',
    run(h) {
      const p = `/${TAG}/abs-${h.rt.name}`;
      h.makeBundle({ args: ['sleep', '30'], edit: (c) => (c.linux.cgroupsPath = p) });
      h.create();
      const pid = h.state().pid!;
      for (const ctrl of pathControllers()) {
        const got = hostCgroup(pid, ctrl);
        check(got === p, `${ctrl || 'unified'}: ${got} != ${p}`);
      }
      h.delete(h.id, true);
    },
    cleanup: removeTagDirs,
  },
  {
    name: 'cgroups-path-relative',
    description: 'a relative linux.cgroupsPath ends the container\'s cgroup path in each hierarchy (placed under the runtime\'s own cgroup)',
    run(h) {
      const p = `${TAG}/rel-${h.rt.name}`;
      h.makeBundle({ args: ['sleep', '30'], edit: (c) => (c.linux.cgroupsPath = p) });
      h.create();
      const pid = h.state().pid!;
      for (const ctrl of pathControllers()) {
        const got = hostCgroup(pid, ctrl) ?? '';
        check(got.endsWith(`/${p}`), `${ctrl || 'unified'}: ${got} does not end in /${p}`);
      }
      h.delete(h.id, true);
    },
    cleanup: removeTagDirs,
  },
  {
    name: 'cgroups-hugepage-limit',
    description: 'linux.resources.hugepageLimits with a page size this host has is the hugetlb limit of the container\'s cgroup (v1, or cgroup2 on a hybrid host)',
    run(h) {
      skipUnless(needAll(needs.hugepages(), need(controllerOn('hugetlb'), 'no hugetlb controller on v1 or cgroup2')));
      // runc 1.1 and crun 1.8 only look for hugetlb on v1 on a hybrid host ("cannot set hugetlb limit: container could not join or create cgroup").
      if (h.rt.name !== 'tsrun') skipUnless(need(!(host().cgroup.mode === 'hybrid' && controllerOn('hugetlb') === 'v2'), `${h.rt.name} does not use the cgroup2 hierarchy for hugetlb on a hybrid host, and hugetlb is on cgroup2 here`));
      unifiedBefore = unifiedRootControllers();
      const [size] = host().hugepageSizes;
      const bytes = { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[size.slice(-2) as 'KB' | 'MB' | 'GB'] * Number(size.slice(0, -2));
      h.makeBundle({ args: ['sleep', '30'], edit: (c) => (c.linux.resources = { hugepageLimits: [{ pageSize: size, limit: 2 * bytes }] }) });
      h.create();
      const pid = h.state().pid!;
      const onV1 = controllerOn('hugetlb') === 'v1';
      const mount = onV1 ? host().cgroup.v1.find((x) => x.controllers.includes('hugetlb'))!.mountPoint : host().cgroup.unified!.mountPoint;
      const file = path.join(mount, hostCgroup(pid, onV1 ? 'hugetlb' : '') ?? '/nonexistent', onV1 ? `hugetlb.${size}.limit_in_bytes` : `hugetlb.${size}.max`);
      const got = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : 'missing';
      h.delete(h.id, true);
      check(got === String(2 * bytes), `${file}: ${got}, want ${2 * bytes}`);
    },
    // tsrun's hybrid fallback enables hugetlb in the cgroup2 root, which then can no longer move to v1: as found.
    cleanup: () => restoreUnifiedRoot(unifiedBefore),
  },
  {
    name: 'cgroups-hugepage-size-absent',
    description: 'a hugepage size this host does not have fails create, and no container is left (state says it does not exist)',
    run(h) {
      skipUnless(need(controllerOn('hugetlb'), 'no hugetlb controller on v1 or cgroup2'));
      h.makeBundle({ args: ['true'], edit: (c) => (c.linux.resources = { hugepageLimits: [{ pageSize: absentPageSize(), limit: 0 }] }) });
      const r = h.tryCreate();
      check(r.status !== 0, `create with page size ${absentPageSize()} succeeded on a host with only ${host().hugepageSizes.join(', ') || 'none'}`);
      const st = h.run(['state', h.id]);
      check(st.status !== 0, `state after the failed create: ${st.stdout.slice(0, 200)}`);
    },
  },
  {
    name: 'cgroups-namespace-root',
    description: 'a new cgroup namespace is rooted at the container\'s own cgroups: /proc/self/cgroup shows "/" in every hierarchy (runc, config-linux.md "Namespaces")',
    run(h) {
      const out = h.probe('cat /proc/self/cgroup', (c) => c.linux.namespaces.push({ type: 'cgroup' }));
      const lines = out.split('\n').filter((l) => l.includes(':'));
      check(lines.length > 0, `no /proc/self/cgroup lines: ${JSON.stringify(out)}`);
      for (const l of lines) check(l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1) === '/', `not rooted at the container's cgroup: ${l}`);
    },
  },
];
