/**
 * Test fixtures: directory trees shaped like /sys/fs/cgroup (v1, v2, hybrid)
 * with the controllers' root files, for prepareCgroup(spec, fsRoot).
 * mkdir inside them is emulated by the manager (children get the parent's file names).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const COMMON_V1 = { 'cgroup.procs': '', tasks: '', 'cgroup.clone_children': '0', notify_on_release: '0' };

export const V1_FILES: Record<string, Record<string, string>> = {
  cpu: { 'cpu.shares': '1024', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_period_us': '100000', 'cpu.cfs_burst_us': '0', 'cpu.rt_runtime_us': '950000', 'cpu.rt_period_us': '1000000', 'cpu.idle': '0', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n' },
  cpuacct: { 'cpuacct.usage': '1000', 'cpuacct.usage_percpu': '600 400 ', 'cpuacct.stat': 'user 1\nsystem 2\n', 'cpuacct.usage_all': 'cpu user system\n0 100 500\n1 0 400\n' },
  cpuset: { 'cpuset.cpus': '0-1', 'cpuset.mems': '0', 'cpuset.cpu_exclusive': '0', 'cpuset.sched_load_balance': '1' },
  memory: {
    'memory.limit_in_bytes': '9223372036854771712',
    'memory.memsw.limit_in_bytes': '9223372036854771712',
    'memory.soft_limit_in_bytes': '9223372036854771712',
    'memory.kmem.limit_in_bytes': '9223372036854771712',
    'memory.kmem.tcp.limit_in_bytes': '9223372036854771712',
    'memory.swappiness': '60',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    'memory.use_hierarchy': '1',
    'memory.usage_in_bytes': '4096',
    'memory.max_usage_in_bytes': '8192',
    'memory.failcnt': '0',
    'memory.stat': 'cache 0\nrss 4096\n',
  },
  devices: { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' },
  freezer: { 'freezer.state': 'THAWED' },
  blkio: { 'blkio.bfq.weight': '100', 'blkio.bfq.weight_device': '', 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '', 'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '' },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
  hugetlb: { 'hugetlb.2MB.limit_in_bytes': '9223372036854771712', 'hugetlb.2MB.rsvd.limit_in_bytes': '9223372036854771712', 'hugetlb.1GB.limit_in_bytes': '9223372036854771712' },
  net_cls: { 'net_cls.classid': '0' },
  net_prio: { 'net_prio.ifpriomap': '' },
  rdma: { 'rdma.max': '' },
  systemd: {},
};

export const V2_ROOT_FILES: Record<string, string> = {
  'cgroup.procs': '',
  'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma',
  'cgroup.subtree_control': '',
  'cgroup.events': 'populated 0\nfrozen 0\n',
  'cgroup.freeze': '0',
  'cgroup.max.depth': 'max',
  'cgroup.kill': '',
  'cpu.weight': '100',
  'cpu.max': 'max 100000',
  'cpu.max.burst': '0',
  'cpu.idle': '0',
  'cpuset.cpus': '',
  'cpuset.mems': '',
  'memory.max': 'max',
  'memory.low': '0',
  'memory.high': 'max',
  'memory.swap.max': 'max',
  'memory.current': '4096',
  'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n',
  'memory.stat': 'anon 4096\nfile 0\n',
  'io.weight': 'default 100',
  'io.max': '',
  'pids.max': 'max',
  'pids.current': '0',
  'hugetlb.2MB.max': 'max',
  'hugetlb.2MB.rsvd.max': 'max',
  'rdma.max': '',
};

function writeAll(dir: string, files: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), v);
}

export function makeFakeV1(root: string, controllers = Object.keys(V1_FILES)): void {
  for (const c of controllers) writeAll(path.join(root, c), { ...COMMON_V1, ...V1_FILES[c] });
}

export function makeFakeV2(root: string, files: Record<string, string> = V2_ROOT_FILES): void {
  writeAll(root, files);
}

/** v1 controllers plus a cgroup2 at <root>/unified offering `unifiedControllers`. */
export function makeFakeHybrid(root: string, v1: string[], unifiedControllers: string): void {
  makeFakeV1(root, v1);
  makeFakeV2(path.join(root, 'unified'), { ...V2_ROOT_FILES, 'cgroup.controllers': unifiedControllers });
}
