/** v1 devices controller: apply the rule list in order to devices.deny / devices.allow. */
import { effectiveRules, v1RuleString } from '../devices';
import { cgWrite } from '../fsutil';
import type { DeviceRule } from '../types';

/** Deny-all followed only by allows: the allows commute, so write them sorted (type, major, minor) as runc's emulator does. */
export function orderRules(rules: DeviceRule[]): DeviceRule[] {
  const [first, ...rest] = rules;
  if (!first || first.type !== 'a' || first.allow || !rest.every((r) => r.allow && r.type !== 'a')) return rules;
  const sorted = [...rest].sort((a, b) => (a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.major !== b.major ? a.major - b.major : a.minor - b.minor));
  return [first, ...sorted];
}

export function set(dir: string, rules: DeviceRule[] | undefined): void {
  if (!rules) return;
  for (const r of orderRules(effectiveRules(rules))) cgWrite('devices', dir, r.allow ? 'devices.allow' : 'devices.deny', v1RuleString(r));
}
