/** v1 memory controller: memory.limit_in_bytes, memsw, soft limit, kmem, swappiness, oom_control, use_hierarchy. */
import type { LinuxResources } from '../../config/types';
import { TsrunError } from '../../errors';
import type { SetCtx } from '../ctx';
import { cgExists, cgReadOpt, cgWrite, errCode } from '../fsutil';

const C = 'memory';
const LIMIT = 'memory.limit_in_bytes';
const SWAP = 'memory.memsw.limit_in_bytes';

type Mem = NonNullable<LinuxResources['memory']>;

export function isSet(m: Mem | undefined): boolean {
  if (!m) return false;
  return !!(m.limit || m.reservation || m.swap || m.kernel || m.kernelTCP || (m.swappiness !== undefined && m.swappiness !== -1) || m.disableOOMKiller || m.useHierarchy !== undefined);
}

function setLimit(dir: string, v: number): void {
  if (!v) return;
  try {
    cgWrite(C, dir, LIMIT, String(v));
  } catch (e) {
    if (errCode(e) === 'EBUSY') {
      throw new TsrunError(`unable to set memory limit to ${v} (current usage: ${cgReadOpt(dir, 'memory.usage_in_bytes')}, peak usage: ${cgReadOpt(dir, 'memory.max_usage_in_bytes')}): ${(e as Error).message}`);
    }
    throw e;
  }
}

function setSwap(dir: string, v: number): void {
  if (!v) return;
  cgWrite(C, dir, SWAP, String(v));
}

export function checkBeforeUpdate(usageText: string | undefined, limit: number | undefined, what: string): void {
  if (!limit || limit < 0 || usageText === undefined) return;
  const usage = Number(usageText);
  if (Number.isFinite(usage) && usage > limit) throw new TsrunError(`rejecting memory limit ${limit} below current usage ${usage} (${what}; memory.checkBeforeUpdate)`);
}

export function set(dir: string, m: Mem | undefined, ctx: SetCtx): void {
  if (!m) return;
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  if (ctx.update && m.checkBeforeUpdate) checkBeforeUpdate(cgReadOpt(dir, 'memory.usage_in_bytes'), limit, `${dir}/memory.usage_in_bytes`);
  // Memory unlimited and swap not given: swap unlimited too (when the kernel has swap accounting).
  if (limit === -1 && swap === 0 && cgExists(dir, SWAP)) swap = -1;
  let done = false;
  if (limit !== 0 && swap !== 0) {
    // Order the two writes so the kernel's memsw >= memory check holds at every step.
    const cur = Number(cgReadOpt(dir, LIMIT) ?? '0');
    if (swap === -1 || cur < swap) {
      setSwap(dir, swap);
      setLimit(dir, limit);
      done = true;
    }
  }
  if (!done) {
    setLimit(dir, limit);
    setSwap(dir, swap);
  }
  for (const [v, file, name] of [
    [m.kernel, 'memory.kmem.limit_in_bytes', 'kernel'],
    [m.kernelTCP, 'memory.kmem.tcp.limit_in_bytes', 'kernelTCP'],
  ] as const) {
    if (!v) continue;
    if (cgExists(dir, file)) cgWrite(C, dir, file, String(v));
    else ctx.warn(`memory.${name} ignored: ${file} does not exist on this kernel`);
  }
  if (m.reservation) cgWrite(C, dir, 'memory.soft_limit_in_bytes', String(m.reservation));
  if (m.disableOOMKiller) cgWrite(C, dir, 'memory.oom_control', '1');
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    if (m.swappiness < 0 || m.swappiness > 100) throw new TsrunError(`invalid memory swappiness value: ${m.swappiness} (valid range is 0-100)`);
    cgWrite(C, dir, 'memory.swappiness', String(m.swappiness));
  }
  if (m.useHierarchy !== undefined) {
    const want = m.useHierarchy ? '1' : '0';
    // Kernels ≥ 5.x always have hierarchy on and refuse 0; writing what's already there is a no-op.
    if (cgReadOpt(dir, 'memory.use_hierarchy') !== want) cgWrite(C, dir, 'memory.use_hierarchy', want);
  }
}
