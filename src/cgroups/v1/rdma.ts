/** rdma controller (same file on v1 and v2): one `rdma.max` line per device. */
import type { LinuxResources } from '../../config/types';
import { cgWrite } from '../fsutil';

export function isSet(r: LinuxResources['rdma']): boolean {
  return !!r && Object.keys(r).length > 0;
}

export function rdmaLine(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string | undefined {
  const parts: string[] = [];
  if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
  if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
  return parts.length ? `${dev} ${parts.join(' ')}` : undefined;
}

export function set(dir: string, r: LinuxResources['rdma']): void {
  for (const [dev, l] of Object.entries(r ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const line = rdmaLine(dev, l);
    if (line) cgWrite('rdma', dir, 'rdma.max', line);
  }
}
