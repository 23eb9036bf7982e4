/** v1 ↔ v2 value conversions, the same formulas as runc (libcontainer/cgroups utils). */
import { TsrunError } from '../errors';

/** cpu.shares [2, 262144] → cpu.weight [1, 10000]: 1 + ((shares-2)*9999)/262142 (0 = unset). */
export function sharesToWeight(shares: number): number {
  if (!shares) return 0;
  const s = Math.max(2, shares);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** blkio.weight [10, 1000] → io.weight [1, 10000]: 1 + (w-10)*9999/990 (0 = unset). */
export function blkioWeightToIoWeight(w: number): number {
  if (!w) return 0;
  return 1 + Math.floor(((Math.max(10, w) - 10) * 9999) / 990);
}

/**
 * v1 memory.memsw (memory+swap) → v2 memory.swap.max (swap only), as runc:
 * -1 = max, 0 = unset; memory -1 with swap unset → swap max too.
 */
export function memorySwapToV2(swap: number, memory: number): number {
  if (memory === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (memory === 0 || memory === -1) throw new TsrunError('unable to set swap limit without memory limit');
  if (memory < 0) throw new TsrunError(`invalid memory value: ${memory}`);
  if (swap < memory) throw new TsrunError('memory+swap limit should be >= memory limit');
  return swap - memory;
}

/** runc's numToStr: 0 → "" (don't write), -1 → "max", else the number. */
export function numToStr(v: number | undefined): string {
  if (v === undefined || v === 0) return '';
  if (v === -1) return 'max';
  return String(v);
}

/** "2MB" / "1GB" / "64KB" → the v2 file infix is the same string; kept as a helper for clarity. */
export function hugepageFileSize(pageSize: string): string {
  return pageSize;
}
