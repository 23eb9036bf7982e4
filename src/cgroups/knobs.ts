/**
 * Resources the host has no knob for, found before anything is written
 * (create and update alike): a hugepage size the kernel does not have, a
 * block I/O weight without a weight-capable scheduler. Each is one line
 * naming the config field and the host's reason, instead of a bare
 * "write …: ENOENT" half-way through the writes (what runc reports).
 */
import type { LinuxResources } from '../config/types';
import { TsrunError } from '../errors';
import { cgExists, cgList } from './fsutil';
import type { BlockIO } from './types';

/** Where a controller's files are written: its directory and whether it uses cgroup2 names. */
export interface KnobDir {
  dir: string;
  v2: boolean;
}

/** The hugepage sizes a hugetlb cgroup directory has files for ("2MB", "1GB"), ascending by size. */
export function hugepageSizesIn(dir: string, v2: boolean): string[] {
  const re = v2 ? /^hugetlb\.(\d+[KMG]B)\.max$/ : /^hugetlb\.(\d+[KMG]B)\.limit_in_bytes$/;
  let names: string[];
  try {
    names = cgList(dir);
  } catch {
    return [];
  }
  const unit = { K: 1, M: 1024, G: 1024 * 1024 } as const;
  const kb = (s: string): number => Number(s.slice(0, -2)) * unit[s.slice(-2, -1) as 'K' | 'M' | 'G'];
  return names
    .map((n) => re.exec(n)?.[1])
    .filter((s): s is string => !!s)
    .sort((a, b) => kb(a) - kb(b));
}

export function checkHugepageLimits(h: LinuxResources['hugepageLimits'], at: KnobDir): void {
  if (!h?.length) return;
  const sizes = hugepageSizesIn(at.dir, at.v2);
  if (sizes.length === 0 && at.v2) {
    throw new TsrunError(`linux.resources.hugepageLimits: the hugetlb controller is not enabled for ${at.dir} (no hugetlb.<size>.max files)`, { path: at.dir });
  }
  for (const l of h) {
    if (!sizes.includes(l.pageSize)) {
      throw new TsrunError(`linux.resources.hugepageLimits: page size ${l.pageSize} is not supported by this host (supported: ${sizes.join(', ') || 'none'})`, { path: at.dir });
    }
  }
}

export function checkBlockIO(b: BlockIO | undefined, at: KnobDir): void {
  if (!b) return;
  const field = b.weight ? 'linux.resources.blockIO.weight' : b.weightDevice?.some((d) => d.weight) ? 'linux.resources.blockIO.weightDevice' : undefined;
  if (!field) return;
  if (at.v2) {
    // v2 weightDevice without BFQ is a warning (io.go); only a plain weight needs io.weight or io.bfq.weight.
    if (b.weight && !cgExists(at.dir, 'io.bfq.weight') && !cgExists(at.dir, 'io.weight')) {
      throw new TsrunError(`${field}: this host cannot weight block I/O: ${at.dir} has neither io.bfq.weight (BFQ scheduler) nor io.weight (io cost model)`, { path: at.dir });
    }
    return;
  }
  if (!cgExists(at.dir, 'blkio.weight') && !cgExists(at.dir, 'blkio.bfq.weight')) {
    throw new TsrunError(`${field}: this host cannot weight block I/O: ${at.dir} has neither blkio.weight (CFQ scheduler) nor blkio.bfq.weight (BFQ scheduler not available)`, { path: at.dir });
  }
}

/** The config field a v1 controller's settings come from (for errors that name the resource). */
export const RESOURCE_FIELD: Record<string, string> = {
  memory: 'linux.resources.memory',
  cpu: 'linux.resources.cpu',
  cpuset: 'linux.resources.cpu',
  pids: 'linux.resources.pids',
  blkio: 'linux.resources.blockIO',
  hugetlb: 'linux.resources.hugepageLimits',
  net_cls: 'linux.resources.network.classID',
  net_prio: 'linux.resources.network.priorities',
  rdma: 'linux.resources.rdma',
  devices: 'linux.resources.devices',
};
