/** cgroup v2 memory: memory.max, memory.swap.max (converted from memsw), memory.low. */
import type { LinuxResources } from '../../config/types';
import type { SetCtx } from '../ctx';
import { memorySwapToV2, numToStr } from '../convert';
import { cgReadOpt, cgWrite, errCode } from '../fsutil';
import { checkBeforeUpdate } from '../v1/memory';

const C = 'memory';
type Mem = NonNullable<LinuxResources['memory']>;

export function isSet(m: Mem | undefined): boolean {
  return !!m && !!(m.limit || m.reservation || m.swap);
}

export function set(dir: string, m: Mem | undefined, ctx: SetCtx): void {
  if (!m) return;
  const limit = m.limit ?? 0;
  if (ctx.update && m.checkBeforeUpdate) checkBeforeUpdate(cgReadOpt(dir, 'memory.current'), limit, `${dir}/memory.current`);
  if (limit || m.swap || m.reservation) {
    const swap = memorySwapToV2(m.swap ?? 0, limit);
    let swapStr = numToStr(swap);
    if (swapStr === '' && swap === 0 && (m.swap ?? 0) > 0) swapStr = '0'; // memory == memory+swap: no swap
    if (swapStr !== '') {
      try {
        cgWrite(C, dir, 'memory.swap.max', swapStr);
      } catch (e) {
        // No swap accounting: unlimited / no swap are what we have anyway.
        if (!(errCode(e) === 'ENOENT' && (swapStr === 'max' || swapStr === '0'))) throw e;
      }
    }
    const l = numToStr(limit);
    if (l) cgWrite(C, dir, 'memory.max', l);
    const r = numToStr(m.reservation);
    if (r) cgWrite(C, dir, 'memory.low', r);
  }
  if (m.kernel || m.kernelTCP) ctx.warn('memory.kernel / memory.kernelTCP ignored: cgroup v2 has no separate kernel memory limit');
  if (m.swappiness !== undefined && m.swappiness !== -1) ctx.warn('memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness');
  if (m.disableOOMKiller) ctx.warn('memory.disableOOMKiller ignored: cgroup v2 has no memory.oom_control');
}
