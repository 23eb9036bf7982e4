/** v1 hugetlb controller: hugetlb.<size>.limit_in_bytes (+ .rsvd. when the kernel has it). */
import type { LinuxResources } from '../../config/types';
import { cgExists, cgWrite } from '../fsutil';

export function isSet(h: LinuxResources['hugepageLimits']): boolean {
  return !!h && h.length > 0;
}

export function set(dir: string, h: LinuxResources['hugepageLimits']): void {
  for (const l of h ?? []) {
    cgWrite('hugetlb', dir, `hugetlb.${l.pageSize}.limit_in_bytes`, String(l.limit));
    const rsvd = `hugetlb.${l.pageSize}.rsvd.limit_in_bytes`;
    if (cgExists(dir, rsvd)) cgWrite('hugetlb', dir, rsvd, String(l.limit));
  }
}
