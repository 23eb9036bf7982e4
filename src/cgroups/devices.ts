/**
 * Device cgroup rules: the spec's linux.resources.devices followed by
 * runc's default allowed devices (those not overridden by a linux.devices
 * entry with the same path). v1 writes them to devices.deny / devices.allow;
 * v2 needs an eBPF program (BPF_CGROUP_DEVICE) – see bpf.ts.
 */
import type { Device, DeviceCgroup } from '../config/types';
import { TsrunError } from '../errors';
import type { DeviceRule } from './types';

/** runc 1.1 specconv.AllowedDevices (checked against its devices.list). */
export const DEFAULT_ALLOWED: { path?: string; rule: DeviceRule }[] = [
  { rule: { allow: true, type: 'c', major: -1, minor: -1, access: 'm' } },
  { rule: { allow: true, type: 'b', major: -1, minor: -1, access: 'm' } },
  { path: '/dev/null', rule: { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' } },
  { path: '/dev/random', rule: { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' } },
  { path: '/dev/full', rule: { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' } },
  { path: '/dev/tty', rule: { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' } },
  { path: '/dev/zero', rule: { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' } },
  { path: '/dev/urandom', rule: { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' } },
  { rule: { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' } }, // /dev/pts/*
  { rule: { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' } }, // /dev/ptmx
  { rule: { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' } }, // /dev/net/tun
];

/**
 * One linux.resources.devices entry as a rule. Letters other than r, w, m in `access` are
 * dropped with a warning, as runc does (its permission set keeps only those three): a rule then
 * grants or denies what its valid letters say, never more. Only letters, all unknown, is an error.
 */
export function specRule(d: DeviceCgroup, warn?: (msg: string) => void): DeviceRule {
  const t = d.type ?? 'a';
  if (t !== 'a' && t !== 'c' && t !== 'b') throw new TsrunError(`invalid device cgroup rule type ${JSON.stringify(t)} (want a, b or c)`);
  const given = d.access ?? 'rwm';
  const access = ['r', 'w', 'm'].filter((c) => given.includes(c)).join('');
  if (/[^rwm]/.test(given)) {
    if (given !== '' && access === '') throw new TsrunError(`invalid device cgroup access ${JSON.stringify(given)} (want letters of "rwm")`);
    warn?.(`device cgroup access ${JSON.stringify(given)}: only r, w and m are meaningful, using ${JSON.stringify(access)}`);
  }
  return { allow: d.allow, type: t, major: d.major ?? -1, minor: d.minor ?? -1, access: access || 'rwm' };
}

const DENY_ALL: DeviceRule = { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' };

/**
 * The full ordered rule list for a container. As runc, the device cgroup is always set up,
 * deny-by-default: no linux.resources.devices still means only the default devices (runc's
 * devices.list for such a config), never every device. `unrestricted` (rootless, where the
 * device cgroup cannot be written) with no rules gives undefined: no device cgroup at all.
 */
export function deviceRules(
  specRules: DeviceCgroup[] | undefined,
  linuxDevices: Device[] | undefined,
  opts: { unrestricted?: boolean; warn?: (msg: string) => void } = {},
): DeviceRule[] | undefined {
  if (specRules === undefined && opts.unrestricted) return undefined;
  const paths = new Set((linuxDevices ?? []).map((d) => d.path));
  const rules = [{ ...DENY_ALL }, ...(specRules ?? []).map((d) => specRule(d, opts.warn))];
  for (const d of DEFAULT_ALLOWED) if (!d.path || !paths.has(d.path)) rules.push({ ...d.rule });
  return rules;
}

/** "c 1:3 rwm", "a" for type a (what devices.allow/deny take). */
export function v1RuleString(r: DeviceRule): string {
  if (r.type === 'a') return 'a';
  const n = (x: number): string => (x < 0 ? '*' : String(x));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/** Rules before the last "a" rule have no effect (it resets the whole list); drop them. */
export function effectiveRules(rules: DeviceRule[]): DeviceRule[] {
  let last = -1;
  rules.forEach((r, i) => {
    if (r.type === 'a') last = i;
  });
  return last < 0 ? rules : rules.slice(last);
}
