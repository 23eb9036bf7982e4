/** cgroup v2 cpuset: cpuset.cpus / cpuset.mems (empty = inherit, no parent copying needed). */
import type { LinuxResources } from '../../config/types';
import { cgWrite } from '../fsutil';

type Cpu = NonNullable<LinuxResources['cpu']>;

export function set(dir: string, c: Cpu | undefined): void {
  if (c?.cpus) cgWrite('cpuset', dir, 'cpuset.cpus', c.cpus);
  if (c?.mems) cgWrite('cpuset', dir, 'cpuset.mems', c.mems);
}
