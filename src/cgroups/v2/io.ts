/** cgroup v2 io: io.bfq.weight (BFQ) or io.weight (converted from blkio weight), io.max throttles. */
import type { SetCtx } from '../ctx';
import { blkioWeightToIoWeight } from '../convert';
import { cgExists, cgWrite } from '../fsutil';
import type { BlockIO } from '../types';

const C = 'io';

export function set(dir: string, b: BlockIO | undefined, ctx: SetCtx): void {
  if (!b) return;
  const bfq = cgExists(dir, 'io.bfq.weight');
  if (b.weight) {
    if (bfq) cgWrite(C, dir, 'io.bfq.weight', String(b.weight));
    else cgWrite(C, dir, 'io.weight', String(blkioWeightToIoWeight(b.weight)));
  }
  if (b.leafWeight) ctx.warn('blockIO.leafWeight ignored: cgroup v2 has no leaf weight');
  for (const wd of b.weightDevice ?? []) {
    if (!wd.weight) continue;
    if (bfq) cgWrite(C, dir, 'io.bfq.weight', `${wd.major}:${wd.minor} ${wd.weight}`);
    else ctx.warn(`blockIO.weightDevice ${wd.major}:${wd.minor} ignored: needs the BFQ scheduler (io.bfq.weight)`);
  }
  const lists: [keyof BlockIO, string][] = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ];
  for (const [field, key] of lists) {
    for (const t of (b[field] as { major: number; minor: number; rate: number }[] | undefined) ?? []) cgWrite(C, dir, 'io.max', `${t.major}:${t.minor} ${key}=${t.rate}`);
  }
}
