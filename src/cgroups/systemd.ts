/**
 * The systemd cgroup driver (--systemd-cgroup, --cgroup-manager systemd).
 * tsrun has no D-Bus client: it checks for systemd and fails clearly, never
 * falling back to cgroupfs behind the caller's back.
 */
import * as fs from 'node:fs';
import { TsrunError } from '../errors';

export const ERR_NO_SYSTEMD = 'systemd cgroup driver requested but systemd is not running (PID 1 is not systemd)';

export function systemdRunning(): boolean {
  // sd_booted(): /run/systemd/system exists.
  if (fs.existsSync('/run/systemd/system')) return true;
  try {
    return fs.readFileSync('/proc/1/comm', 'utf8').trim() === 'systemd';
  } catch {
    return false;
  }
}

/** "slice:prefix:name" as runc's systemd driver expects it (empty cgroupsPath is fine). */
export function parseSystemdPath(p: string | undefined): { slice: string; prefix: string; name: string } | undefined {
  if (!p) return undefined;
  const parts = p.split(':');
  if (parts.length !== 3) throw new TsrunError(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(p)} instead`);
  return { slice: parts[0], prefix: parts[1], name: parts[2] };
}

export function systemdDriver(cgroupsPath: string | undefined): never {
  parseSystemdPath(cgroupsPath);
  if (!systemdRunning()) throw new TsrunError(ERR_NO_SYSTEMD);
  throw new TsrunError('systemd cgroup driver is not implemented by tsrun (no D-Bus client); use the cgroupfs driver');
}
