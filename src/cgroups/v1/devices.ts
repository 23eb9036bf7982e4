/** v1 devices controller: apply the rule list in order to devices.deny / devices.allow. */
import { effectiveRules, v1RuleString } from '../devices';
import { cgWrite } from '../fsutil';
import type { DeviceRule } from '../types';

/**
 * Deny-all first (allow-list mode): the end state is computed as the kernel
 * would (an allow adds access to its exact type+major:minor entry, a deny
 * removes access from that exact entry) and written as sorted allows
 * (type, major, minor), which is what runc's device emulator writes; the
 * kernel's devices.list then reads the same as runc's. Other lists are
 * written as given.
 */
export function orderRules(rules: DeviceRule[]): DeviceRule[] {
  const [first, ...rest] = rules;
  if (!first || first.type !== 'a' || first.allow || rest.some((r) => r.type === 'a')) return rules;
  const entries = new Map<string, DeviceRule>();
  for (const r of rest) {
    const key = `${r.type} ${r.major}:${r.minor}`;
    const cur = entries.get(key);
    const acc = new Set(cur?.access ?? '');
    for (const ch of r.access || 'rwm') r.allow ? acc.add(ch) : acc.delete(ch);
    const access = 'rwm'.split('').filter((c) => acc.has(c)).join('');
    if (access) entries.set(key, { ...r, allow: true, access });
    else entries.delete(key);
  }
  const sorted = [...entries.values()].sort((a, b) => (a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.major !== b.major ? a.major - b.major : a.minor - b.minor));
  return [first, ...sorted];
}

export function set(dir: string, rules: DeviceRule[] | undefined): void {
  if (!rules) return;
  for (const r of orderRules(effectiveRules(rules))) cgWrite('devices', dir, r.allow ? 'devices.allow' : 'devices.deny', v1RuleString(r));
}
