/**
 * One description of the host the tests run on, read once per process.
 *
 * Every host-dependent test takes its resources and expectations from here
 * (the hugepage sizes that exist, the blkio weight file that exists, where a
 * controller lives on a hybrid layout...) instead of assuming the machine it
 * was written on, and reports a skip with the reason when a feature is absent:
 *
 *   import { host, need, skip, hostTest } from '../helpers/host';
 *   hostTest(test, 'hugetlb limit', () => need(host().hugepageSizes.length > 0, 'no hugepage sizes'), () => { ... });
 *   // or, inside a test body, for something only found out at run time:
 *   if (!ok) return skip('runc itself rejects this config here: ...');
 *
 * The skip convention: a skipped test prints exactly one line
 * `SKIP: <title>: <reason>` on stdout and ends (uvu counts it as passed);
 * test/run.mjs collects those lines, counts them as skipped instead of passed
 * and lists the reasons above its closing `N passed, N failed, N skipped`.
 *
 * Reading is side-effect free except one probe: whether a v1 blkio cgroup
 * offers a weight file can only be seen in a non-root cgroup (BFQ's files are
 * not on the root), so a temporary empty child cgroup is made and removed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface V1Hierarchy {
  mountPoint: string;
  /** Controllers of the hierarchy; named ones as "name=systemd". */
  controllers: string[];
}

export interface CgroupFacts {
  /** 'none' when no cgroup filesystem is mounted. */
  mode: 'v1' | 'v2' | 'hybrid' | 'none';
  /** v1 hierarchies (one per set of controllers; bind mounts of the same one dropped). */
  v1: V1Hierarchy[];
  /** The cgroup2 mount, its available controllers (cgroup.controllers) and the root's subtree_control. */
  unified?: { mountPoint: string; controllers: string[]; subtreeControl: string[] };
  /** /proc/cgroups: controller → hierarchy id (0: on cgroup2 or unused) and whether the kernel enables it. */
  kernel: Record<string, { hierarchy: number; enabled: boolean }>;
}

/** Files that exist in a (non-root) v1 cgroup of the named controller; all false on a v2-only host. */
export interface V1Files {
  /** The blkio weight file a runtime writes: CFQ's blkio.weight, else BFQ's blkio.bfq.weight; undefined: neither (no CFQ/BFQ). */
  blkioWeight?: 'blkio.weight' | 'blkio.bfq.weight';
  /** blkio.weight_device / blkio.bfq.weight_device, matching blkioWeight. */
  blkioWeightDevice?: 'blkio.weight_device' | 'blkio.bfq.weight_device';
  blkioLeafWeight: boolean;
  blkioThrottle: boolean;
  /** memory.kmem.limit_in_bytes (gone in kernels ≥ 6.x on some configs). */
  memoryKmem: boolean;
  memoryKmemTcp: boolean;
  /** memory.memsw.limit_in_bytes: swap accounting. */
  memorySwap: boolean;
  /** cpu.rt_runtime_us (CONFIG_RT_GROUP_SCHED). */
  cpuRt: boolean;
  /** net_cls / net_prio are mounted on v1. */
  netCls: boolean;
  netPrio: boolean;
}

export interface KernelFeature {
  ok: boolean;
  /** How it was decided (shown in skip reasons). */
  why: string;
}

export interface HostFacts {
  isRoot: boolean;
  kernel: { release: string; major: number; minor: number };
  cgroup: CgroupFacts;
  v1Files: V1Files;
  /** Some block device offers the BFQ I/O scheduler (/sys/block/* /queue/scheduler). */
  bfq: boolean;
  /** Hugepage sizes of /sys/kernel/mm/hugepages in the cgroup files' spelling ("2MB", "1GB", "64KB"), ascending. */
  hugepageSizes: string[];
  /** CapBnd of /proc/self/status. */
  capBnd: bigint;
  lsm: { selinux: boolean; apparmor: boolean };
  /** pid 1 is systemd (only then does --systemd-cgroup have a manager to talk to). */
  systemdPid1: boolean;
  /** /proc/sys/user/max_user_namespaces > 0. */
  userns: boolean;
  features: {
    /** clone3 CLONE_INTO_CGROUP: kernel ≥ 5.7 and a cgroup2 mount. */
    cloneIntoCgroup: KernelFeature;
    /** mount_setattr MOUNT_ATTR_IDMAP: kernel ≥ 5.12. */
    idmappedMounts: KernelFeature;
    /** /proc/self/ns/time exists. */
    timeNamespace: KernelFeature;
    /** "user_notif" in /proc/sys/kernel/seccomp/actions_avail. */
    seccompNotify: KernelFeature;
    /** pidfd_open: kernel ≥ 5.3. */
    pidfd: KernelFeature;
  };
}

const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const readOpt = (p: string): string | undefined => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};
const words = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter(Boolean);
const unescape = (s: string): string => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The cgroup mounts of a mountinfo text: v1 hierarchies (deduplicated) and the first cgroup2 mount. */
export function parseCgroupMounts(mountinfo: string): { v1: V1Hierarchy[]; unified?: string } {
  const v1: V1Hierarchy[] = [];
  const seen = new Set<string>();
  let unified: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fsType, , superOpts] = post.split(' ');
    const mountPoint = unescape(pre.split(' ')[4] ?? '');
    if (fsType === 'cgroup2') {
      if (!unified || (mountPoint.startsWith('/sys/fs/cgroup') && !unified.startsWith('/sys/fs/cgroup'))) unified = mountPoint;
      continue;
    }
    if (fsType !== 'cgroup') continue;
    const controllers = (superOpts ?? '').split(',').filter((o) => o !== 'rw' && o !== 'ro' && !['xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'favordynmods'].includes(o) && !o.startsWith('release_agent='));
    const key = [...controllers].sort().join(',');
    if (!key || seen.has(key)) continue;
    seen.add(key);
    v1.push({ mountPoint, controllers });
  }
  return { v1, unified };
}

/** /proc/cgroups → controller → { hierarchy, enabled }. */
export function parseProcCgroups(text: string): CgroupFacts['kernel'] {
  const out: CgroupFacts['kernel'] = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, hier, , enabled] = line.split(/\s+/);
    if (name) out[name] = { hierarchy: Number(hier), enabled: enabled === '1' };
  }
  return out;
}

function readCgroups(): CgroupFacts {
  const { v1, unified } = parseCgroupMounts(readOpt('/proc/self/mountinfo') ?? '');
  const kernel = parseProcCgroups(readOpt('/proc/cgroups') ?? '');
  const u = unified
    ? { mountPoint: unified, controllers: words(readOpt(path.join(unified, 'cgroup.controllers'))), subtreeControl: words(readOpt(path.join(unified, 'cgroup.subtree_control'))) }
    : undefined;
  const mode = v1.length === 0 ? (u ? 'v2' : 'none') : u ? 'hybrid' : 'v1';
  return { mode, v1, unified: u, kernel };
}

/** Page size in bytes → the kernel's hugetlb cgroup file spelling (mm/hugetlb_cgroup.c). */
export function pageSizeName(bytes: number): string {
  const K = 1024;
  if (bytes >= K * K * K) return `${bytes / (K * K * K)}GB`;
  if (bytes >= K * K) return `${bytes / (K * K)}MB`;
  return `${bytes / K}KB`;
}

/** "2MB" → bytes (for comparing spellings); NaN when malformed. */
export function pageSizeBytes(name: string): number {
  const m = /^(\d+)(KB|MB|GB)$/.exec(name);
  if (!m) return NaN;
  return Number(m[1]) * { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'KB' | 'MB' | 'GB'];
}

function readHugepageSizes(): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  const bytes = names.map((n) => /^hugepages-(\d+)kB$/.exec(n)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1]) * 1024);
  return bytes.sort((a, b) => a - b).map(pageSizeName);
}

/** Lists the files of a temporary child cgroup of `mountPoint` (made and removed here), or of the root if that fails. */
function childCgroupFiles(mountPoint: string): Set<string> {
  const probe = path.join(mountPoint, `tsrun-hostprobe-${process.pid}`);
  try {
    fs.mkdirSync(probe);
  } catch {
    return new Set(fs.existsSync(mountPoint) ? fs.readdirSync(mountPoint) : []);
  }
  try {
    return new Set(fs.readdirSync(probe));
  } finally {
    fs.rmdirSync(probe);
  }
}

function readV1Files(cg: CgroupFacts, isRoot: boolean): V1Files {
  const mp = (c: string): string | undefined => cg.v1.find((h) => h.controllers.includes(c))?.mountPoint;
  const files = (c: string): Set<string> => {
    const m = mp(c);
    if (!m) return new Set();
    return isRoot ? childCgroupFiles(m) : new Set(fs.readdirSync(m));
  };
  const blkio = files('blkio');
  const memory = files('memory');
  const cpu = mp('cpu') ? new Set(fs.readdirSync(mp('cpu')!)) : new Set<string>();
  const blkioWeight = blkio.has('blkio.weight') ? 'blkio.weight' : blkio.has('blkio.bfq.weight') ? 'blkio.bfq.weight' : undefined;
  return {
    blkioWeight,
    blkioWeightDevice: blkioWeight === 'blkio.weight' ? 'blkio.weight_device' : blkioWeight ? 'blkio.bfq.weight_device' : undefined,
    blkioLeafWeight: blkio.has('blkio.leaf_weight'),
    blkioThrottle: blkio.has('blkio.throttle.read_bps_device'),
    memoryKmem: memory.has('memory.kmem.limit_in_bytes'),
    memoryKmemTcp: memory.has('memory.kmem.tcp.limit_in_bytes'),
    memorySwap: memory.has('memory.memsw.limit_in_bytes'),
    cpuRt: cpu.has('cpu.rt_runtime_us'),
    netCls: !!mp('net_cls'),
    netPrio: !!mp('net_prio'),
  };
}

function readBfq(): boolean {
  try {
    return fs.readdirSync('/sys/block').some((b) => /\bbfq\b/.test(readOpt(`/sys/block/${b}/queue/scheduler`) ?? ''));
  } catch {
    return false;
  }
}

function readLsm(): HostFacts['lsm'] {
  const list = words((readOpt('/sys/kernel/security/lsm') ?? '').replace(/,/g, ' '));
  const apparmor = list.includes('apparmor') || /^Y/.test(readOpt('/sys/module/apparmor/parameters/enabled') ?? '');
  const selinux = list.includes('selinux') || fs.existsSync('/sys/fs/selinux/enforce');
  return { selinux, apparmor };
}

function kernelVersion(): HostFacts['kernel'] {
  const release = os.release();
  const m = /^(\d+)\.(\d+)/.exec(release);
  return { release, major: m ? Number(m[1]) : 0, minor: m ? Number(m[2]) : 0 };
}

function atLeast(k: HostFacts['kernel'], major: number, minor: number): boolean {
  return k.major > major || (k.major === major && k.minor >= minor);
}

function feature(ok: boolean, why: string): KernelFeature {
  return { ok, why };
}

function readFacts(): HostFacts {
  const isRoot = process.getuid?.() === 0;
  const kernel = kernelVersion();
  const cgroup = readCgroups();
  const capHex = /^CapBnd:\s+([0-9a-f]+)/m.exec(readOpt('/proc/self/status') ?? '')?.[1] ?? '0';
  const comm1 = (readOpt('/proc/1/comm') ?? '').trim();
  const k = `kernel ${kernel.release}`;
  const kv = (maj: number, min: number, what: string): KernelFeature => feature(atLeast(kernel, maj, min), `${what} needs kernel ≥ ${maj}.${min} (${k})`);
  const seccompActions = words(readOpt('/proc/sys/kernel/seccomp/actions_avail'));
  return {
    isRoot,
    kernel,
    cgroup,
    v1Files: readV1Files(cgroup, isRoot),
    bfq: readBfq(),
    hugepageSizes: readHugepageSizes(),
    capBnd: BigInt(`0x${capHex}`),
    lsm: readLsm(),
    systemdPid1: comm1 === 'systemd',
    userns: Number((readOpt('/proc/sys/user/max_user_namespaces') ?? '0').trim()) > 0,
    features: {
      cloneIntoCgroup: cgroup.unified ? kv(5, 7, 'CLONE_INTO_CGROUP') : feature(false, 'CLONE_INTO_CGROUP needs a cgroup2 mount (none here)'),
      idmappedMounts: kv(5, 12, 'idmapped mounts'),
      timeNamespace: feature(fs.existsSync('/proc/self/ns/time'), `time namespaces: /proc/self/ns/time ${fs.existsSync('/proc/self/ns/time') ? 'exists' : 'is missing'} (${k})`),
      seccompNotify: feature(seccompActions.includes('user_notif'), `seccomp notify: actions_avail is "${seccompActions.join(' ')}"`),
      pidfd: kv(5, 3, 'pidfd_open'),
    },
  };
}

let cached: HostFacts | undefined;

/** The facts of this host, read on first use. */
export function host(): HostFacts {
  return (cached ??= readFacts());
}

/** Where `controller` lives: 'v1' (a mounted v1 hierarchy), 'v2' (available on the cgroup2 mount), or undefined. */
export function controllerOn(controller: string): 'v1' | 'v2' | undefined {
  const cg = host().cgroup;
  if (cg.v1.some((h) => h.controllers.includes(controller))) return 'v1';
  const v2 = controller === 'blkio' ? 'io' : controller;
  if (cg.unified?.controllers.includes(v2)) return 'v2';
  return undefined;
}

/** The mount point of the v1 hierarchy holding `controller`, if any. */
export function v1Mount(controller: string): string | undefined {
  return host().cgroup.v1.find((h) => h.controllers.includes(controller))?.mountPoint;
}

/** The capability is in the bounding set. */
export function hasCap(name: string): boolean {
  const i = CAPS.indexOf(name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`);
  return i >= 0 && ((host().capBnd >> BigInt(i)) & 1n) === 1n;
}

/** A hugepage size this host does NOT have (for testing the error path): the first of 64KB, 1GB, 16GB, 32MB absent here. */
export function absentPageSize(): string {
  const have = new Set(host().hugepageSizes);
  return ['64KB', '1GB', '16GB', '32MB', '512MB'].find((s) => !have.has(s))!;
}

/** `undefined` when `cond` holds, else `reason`: the building block of requirements. */
export function need(cond: unknown, reason: string): string | undefined {
  return cond ? undefined : reason;
}

/** The first unmet requirement's reason, or undefined when all hold. */
export function needAll(...reasons: (string | undefined)[]): string | undefined {
  return reasons.find((r) => r !== undefined);
}

/** Common requirements. */
export const needs = {
  root: (): string | undefined => need(host().isRoot, 'needs root'),
  v1: (controller: string): string | undefined => need(controllerOn(controller) === 'v1', `needs the ${controller} controller on a cgroup v1 hierarchy (host: ${describeController(controller)})`),
  controller: (controller: string): string | undefined => need(controllerOn(controller) !== undefined, `needs the ${controller} controller (host: ${describeController(controller)})`),
  blkioWeight: (): string | undefined => need(host().v1Files.blkioWeight, 'the blkio hierarchy has neither blkio.weight (CFQ) nor blkio.bfq.weight (BFQ not available)'),
  hugepages: (): string | undefined => need(host().hugepageSizes.length > 0, 'no hugepage sizes in /sys/kernel/mm/hugepages'),
};

/** "on cgroup v1 at /sys/fs/cgroup/memory", "on cgroup2 at …", "not mounted (kernel: disabled)"… for skip reasons. */
export function describeController(controller: string): string {
  const m = v1Mount(controller);
  if (m) return `on cgroup v1 at ${m}`;
  const u = host().cgroup.unified;
  if (controllerOn(controller) === 'v2') return `on cgroup2 at ${u!.mountPoint}`;
  const k = host().cgroup.kernel[controller];
  if (!k) return 'not in this kernel';
  if (!k.enabled) return 'disabled in this kernel';
  return u ? `not mounted on v1 and not available on cgroup2 at ${u.mountPoint}` : 'not mounted';
}

/** Prints the skip line test/run.mjs collects; returns undefined so a test can `return skip(...)`. */
export function skip(title: string, reason: string): undefined {
  // Own line: uvu's progress dots have no newline before a test's output.
  process.stdout.write(`\nSKIP: ${title}: ${reason.replace(/\n/g, ' ')}\n`);
  return undefined;
}

type UvuTest = (name: string, fn: () => void | Promise<void>) => void;

/**
 * Registers a uvu test that first checks `unmet()` (a reason, or undefined
 * when the host has what the test needs); with a reason it prints one SKIP
 * line and ends.
 */
export function hostTest(t: UvuTest, title: string, unmet: () => string | undefined, fn: () => void | Promise<void>): void {
  t(title, () => {
    const why = unmet();
    if (why !== undefined) return skip(title, why);
    return fn();
  });
}

/** One-paragraph summary (printed by tests that want to show what they ran on). */
export function describeHost(): string {
  const h = host();
  const cg = h.cgroup;
  const v1 = cg.v1.map((x) => x.controllers.join(',')).join(' ');
  return [
    `kernel ${h.kernel.release}; cgroup ${cg.mode}` + (v1 ? `; v1: ${v1}` : '') + (cg.unified ? `; cgroup2 (${cg.unified.mountPoint}): ${cg.unified.controllers.join(' ') || '(no controllers)'}` : ''),
    `blkio weight: ${h.v1Files.blkioWeight ?? 'none'}; bfq: ${h.bfq}; hugepages: ${h.hugepageSizes.join(' ') || 'none'}; systemd pid 1: ${h.systemdPid1}`,
  ].join('\n');
}

/**
 * Why an unprivileged user cannot run the checkout at `p` (the first directory
 * on the way without o+x, e.g. a checkout under a `mktemp -d` directory, mode
 * 0700), or undefined when it can.
 */
export function unreachableByOthers(p: string): string | undefined {
  for (let d = path.resolve(p); ; d = path.dirname(d)) {
    try {
      if ((fs.statSync(d).mode & 0o001) === 0) return `${d} is not searchable by other users (mode ${(fs.statSync(d).mode & 0o777).toString(8)}): an unprivileged user cannot run this checkout`;
    } catch {
      return `${d} cannot be stat'ed`;
    }
    if (d === '/') return undefined;
  }
}
