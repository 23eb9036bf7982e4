/** v1 blkio controller: CFQ (blkio.weight) or BFQ (blkio.bfq.weight) weights, throttles. */
import type { SetCtx } from '../ctx';
import { cgExists, cgWrite } from '../fsutil';
import type { BlockIO, ThrottleDevice } from '../types';

const C = 'blkio';

export function isSet(b: BlockIO | undefined): boolean {
  if (!b) return false;
  return !!(b.weight || b.leafWeight || b.weightDevice?.length || b.throttleReadBpsDevice?.length || b.throttleWriteBpsDevice?.length || b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length);
}

const throttle = (t: ThrottleDevice): string => `${t.major}:${t.minor} ${t.rate}`;

export function set(dir: string, b: BlockIO | undefined, ctx: SetCtx): void {
  if (!b) return;
  // CFQ files when present, else BFQ's (kernels ≥ 5.0 have no CFQ).
  const cfq = cgExists(dir, 'blkio.weight');
  const weightFile = cfq ? 'blkio.weight' : 'blkio.bfq.weight';
  const weightDeviceFile = cfq ? 'blkio.weight_device' : 'blkio.bfq.weight_device';
  if (b.weight) cgWrite(C, dir, weightFile, String(b.weight));
  if (b.leafWeight) {
    if (cfq || cgExists(dir, 'blkio.leaf_weight')) cgWrite(C, dir, 'blkio.leaf_weight', String(b.leafWeight));
    else ctx.warn('blockIO.leafWeight ignored: blkio.leaf_weight does not exist (no CFQ on this kernel)');
  }
  for (const wd of b.weightDevice ?? []) {
    if (wd.weight) cgWrite(C, dir, weightDeviceFile, `${wd.major}:${wd.minor} ${wd.weight}`);
    if (wd.leafWeight) {
      if (cgExists(dir, 'blkio.leaf_weight_device')) cgWrite(C, dir, 'blkio.leaf_weight_device', `${wd.major}:${wd.minor} ${wd.leafWeight}`);
      else ctx.warn('blockIO.weightDevice[].leafWeight ignored: blkio.leaf_weight_device does not exist');
    }
  }
  for (const t of b.throttleReadBpsDevice ?? []) cgWrite(C, dir, 'blkio.throttle.read_bps_device', throttle(t));
  for (const t of b.throttleWriteBpsDevice ?? []) cgWrite(C, dir, 'blkio.throttle.write_bps_device', throttle(t));
  for (const t of b.throttleReadIOPSDevice ?? []) cgWrite(C, dir, 'blkio.throttle.read_iops_device', throttle(t));
  for (const t of b.throttleWriteIOPSDevice ?? []) cgWrite(C, dir, 'blkio.throttle.write_iops_device', throttle(t));
}
