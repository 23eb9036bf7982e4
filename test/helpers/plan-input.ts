/** A PlanInput for unit tests of the plan builders: the default spec, no host access. */
import type { Spec } from '../../src/config/types';
import type { PlanInput } from '../../src/plan/build';
import { parseMountinfoCgroups, parseProcCgroup } from '../../src/plan/host-cgroups';
import { defaultSpec } from '../../src/spec/default';

const V2_ONLY = '41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw';

export interface PlanInputOptions {
  args?: string[];
  edit?: (c: Spec) => void;
  /** /proc/self/mountinfo lines for the cgroup mounts (default: a cgroup2-only host). */
  mountinfo?: string;
  /** /proc/self/cgroup of the runtime (default: 0::/x). */
  procCgroup?: string;
  extra?: Partial<PlanInput>;
}

export function planInput(o: PlanInputOptions = {}): PlanInput {
  const config = defaultSpec({ args: o.args ?? ['sh'], terminal: false }) as unknown as Spec;
  o.edit?.(config);
  return {
    config,
    rootfs: '/bundle/rootfs',
    bundle: '/bundle',
    fifoPath: '/run/tsrun/c1/exec.fifo',
    noPivot: false,
    preserveFds: 0,
    cgroups: { mounts: parseMountinfoCgroups(o.mountinfo ?? V2_ONLY), self: parseProcCgroup(o.procCgroup ?? '0::/x\n') },
    isDirectory: () => true,
    ...o.extra,
  };
}
