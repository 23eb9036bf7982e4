/** v1 cpu controller: shares, CFS quota/period/burst, idle, RT runtime/period. */
import type { LinuxResources } from '../../config/types';
import { TsrunError } from '../../errors';
import type { SetCtx } from '../ctx';
import { cgReadOpt, cgWrite, errCode } from '../fsutil';

const C = 'cpu';
type Cpu = NonNullable<LinuxResources['cpu']>;

export function isSet(c: Cpu | undefined): boolean {
  return !!c && !!(c.shares || c.quota || c.period || c.burst !== undefined || c.realtimePeriod || c.realtimeRuntime || c.idle !== undefined);
}

export function set(dir: string, c: Cpu | undefined, _ctx: SetCtx): void {
  if (!c) return;
  // RT first: runc sets it before the process joins (a task with RT policy needs budget).
  if (c.realtimePeriod) cgWrite(C, dir, 'cpu.rt_period_us', String(c.realtimePeriod));
  if (c.realtimeRuntime) cgWrite(C, dir, 'cpu.rt_runtime_us', String(c.realtimeRuntime));
  if (c.shares) {
    cgWrite(C, dir, 'cpu.shares', String(c.shares));
    const got = Number(cgReadOpt(dir, 'cpu.shares'));
    if (c.shares > got) throw new TsrunError(`the maximum allowed cpu-shares is ${got}`);
    if (c.shares < got) throw new TsrunError(`the minimum allowed cpu-shares is ${got}`);
  }
  let periodLater = '';
  if (c.period) {
    try {
      cgWrite(C, dir, 'cpu.cfs_period_us', String(c.period));
    } catch (e) {
      // A smaller period can be refused (old quota / new period over the parent's); retry after the quota.
      if (errCode(e) !== 'EINVAL' || !c.quota) throw e;
      periodLater = String(c.period);
    }
  }
  if (c.quota) {
    cgWrite(C, dir, 'cpu.cfs_quota_us', String(c.quota));
    if (periodLater) cgWrite(C, dir, 'cpu.cfs_period_us', periodLater);
  }
  if (c.burst !== undefined) cgWrite(C, dir, 'cpu.cfs_burst_us', String(c.burst));
  if (c.idle !== undefined) cgWrite(C, dir, 'cpu.idle', String(c.idle));
}
