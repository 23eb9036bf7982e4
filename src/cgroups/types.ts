/**
 * Types of the cgroup library: the record stored in the state file, the
 * typed views of the loosely typed parts of LinuxResources, and the stats
 * shape of `runc events` (libcontainer/... events types).
 */
import type { Device, DeviceCgroup, LinuxResources } from '../config/types';

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'disabled';

/**
 * What tsrun remembers about a container's cgroups (`StateRecord.cgroup`).
 * Plain JSON. `paths` maps a v1 controller name ("memory", "cpu", "cpuacct",
 * "name=systemd", ...) to the container's directory in that hierarchy, and
 * the key "" to its directory in the cgroup2 (unified) hierarchy (v2 and hybrid).
 */
export interface CgroupRecord {
  version: 1;
  mode: CgroupMode;
  paths: Record<string, string>;
  /** Directories this container created, parents before children: only these are removed by destroy(). */
  created: string[];
  /** cgroup2 controllers tsrun had to enable for this container (hybrid: unified keys / fallback controllers). */
  v2Controllers?: string[];
  /** Which v1 controllers a resource was redirected to the unified hierarchy for (hybrid only). */
  v2Fallback?: string[];
  /** A unit-test tree of plain directories, not cgroupfs. */
  fake?: boolean;
  /** The systemd scope unit holding the container (systemd cgroup driver): delete stops it. */
  systemdUnit?: string;
}

export interface CgroupSpec {
  id: string;
  /** linux.cgroupsPath. */
  cgroupsPath?: string;
  resources?: LinuxResources;
  /** linux.devices: each gets an allow rule after the default ones (as runc). */
  devices?: Device[];
  /** --systemd-cgroup. */
  systemd: boolean;
  /** crun's --cgroup-manager. */
  manager?: 'cgroupfs' | 'systemd' | 'disabled';
  /** --rootless true (or auto and not root): a cgroup that can't be created is skipped when it has no limits to set. */
  rootless?: boolean;
  /**
   * Called once before any directory is made, with every path the container
   * will use and every directory missing now (`created`): create records it,
   * so a create killed half-way leaves nothing that `delete` cannot find.
   */
  onPlanned?: (planned: CgroupRecord) => void;
  /** The init's pid: the systemd driver starts its scope with the process in it (so the init is cloned first). */
  pid?: number;
}

/** A device cgroup rule as written to devices.allow / devices.deny (or compiled to BPF). */
export interface DeviceRule {
  allow: boolean;
  /** 'a' (all), 'c', 'b'. */
  type: 'a' | 'c' | 'b';
  /** -1 = wildcard. */
  major: number;
  minor: number;
  /** subset of "rwm". */
  access: string;
}
export type { DeviceCgroup };

export interface WeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}
export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}
export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}
export interface Network {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

/** A uint64 from a cgroup file: a number when exact, a bigint above 2^53. */
export type U64 = number | bigint;

export interface MemoryEntry {
  limit: U64;
  usage?: U64;
  max?: U64;
  failcnt: U64;
}
export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: U64;
}
/** `runc events` data (types.go in runc's events package); omitted = Go omitempty. */
export interface Stats {
  cpu: {
    usage: { total?: U64; percpu?: U64[]; percpu_kernel?: U64[]; percpu_user?: U64[]; kernel: U64; user: U64 };
    throttling: { periods?: U64; throttledPeriods?: U64; throttledTime?: U64 };
  };
  cpuset: Record<string, unknown>;
  memory: {
    cache?: U64;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw?: Record<string, U64>;
  };
  pids: { current?: U64; limit?: U64 };
  blkio: {
    ioServiceBytesRecursive?: BlkioEntry[];
    ioServicedRecursive?: BlkioEntry[];
    ioQueueRecursive?: BlkioEntry[];
    ioServiceTimeRecursive?: BlkioEntry[];
    ioWaitTimeRecursive?: BlkioEntry[];
    ioMergedRecursive?: BlkioEntry[];
    ioTimeRecursive?: BlkioEntry[];
    sectorsRecursive?: BlkioEntry[];
  };
  hugetlb: Record<string, { usage?: U64; max?: U64; failcnt: U64 }>;
  intel_rdt: Record<string, unknown>;
  network_interfaces: null;
}
