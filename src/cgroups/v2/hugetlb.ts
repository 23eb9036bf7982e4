/** cgroup v2 hugetlb: hugetlb.<size>.max (+ .rsvd.max when present). */
import type { LinuxResources } from '../../config/types';
import { cgExists, cgWrite } from '../fsutil';

export function set(dir: string, h: LinuxResources['hugepageLimits']): void {
  for (const l of h ?? []) {
    cgWrite('hugetlb', dir, `hugetlb.${l.pageSize}.max`, String(l.limit));
    const rsvd = `hugetlb.${l.pageSize}.rsvd.max`;
    if (cgExists(dir, rsvd)) cgWrite('hugetlb', dir, rsvd, String(l.limit));
  }
}
