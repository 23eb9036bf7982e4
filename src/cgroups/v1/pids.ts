/** pids controller (same file on v1 and v2): pids.max, "max" for a negative limit, 0 = unset (as runc). */
import type { LinuxResources } from '../../config/types';
import { cgWrite } from '../fsutil';

export function isSet(p: LinuxResources['pids']): boolean {
  return !!p && !!p.limit;
}

export function set(dir: string, p: LinuxResources['pids']): void {
  if (!p || !p.limit) return;
  cgWrite('pids', dir, 'pids.max', p.limit > 0 ? String(p.limit) : 'max');
}
