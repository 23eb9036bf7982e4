/** v1 net_cls (classid) and net_prio (ifpriomap). cgroup v2 has neither. */
import { cgWrite } from '../fsutil';
import type { Network } from '../types';

export function clsSet(n: Network | undefined): boolean {
  return !!n && !!n.classID;
}
export function prioSet(n: Network | undefined): boolean {
  return !!n && !!n.priorities?.length;
}

export function setCls(dir: string, n: Network | undefined): void {
  if (n?.classID) cgWrite('net_cls', dir, 'net_cls.classid', String(n.classID));
}

export function setPrio(dir: string, n: Network | undefined): void {
  for (const p of n?.priorities ?? []) cgWrite('net_prio', dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
}
