/** cgroup v2 cpu: cpu.weight (from shares), cpu.max "quota period", cpu.max.burst, cpu.idle. */
import type { LinuxResources } from '../../config/types';
import { TsrunError } from '../../errors';
import type { SetCtx } from '../ctx';
import { sharesToWeight } from '../convert';
import { cgWrite } from '../fsutil';

const C = 'cpu';
type Cpu = NonNullable<LinuxResources['cpu']>;

export function isSet(c: Cpu | undefined): boolean {
  return !!c && !!(c.shares || c.quota || c.period || c.burst !== undefined || c.idle !== undefined || c.realtimePeriod || c.realtimeRuntime);
}

export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (!quota && !period) return undefined;
  let s = quota && quota > 0 ? String(quota) : 'max';
  if (period) s += ` ${period}`;
  return s;
}

export function set(dir: string, c: Cpu | undefined, _ctx: SetCtx): void {
  if (!c) return;
  if (c.realtimePeriod || c.realtimeRuntime) throw new TsrunError('cpu.realtimeRuntime / cpu.realtimePeriod are not supported on cgroup v2 (no cpu.rt_* files)');
  if (c.idle !== undefined) cgWrite(C, dir, 'cpu.idle', String(c.idle));
  if (c.shares) cgWrite(C, dir, 'cpu.weight', String(sharesToWeight(c.shares)));
  const max = cpuMax(c.quota, c.period);
  if (max) cgWrite(C, dir, 'cpu.max', max);
  if (c.burst !== undefined) cgWrite(C, dir, 'cpu.max.burst', String(c.burst));
}
