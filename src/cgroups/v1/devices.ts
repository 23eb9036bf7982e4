/** v1 devices controller: apply the rule list in order to devices.deny / devices.allow. */
import { effectiveRules, v1RuleString } from '../devices';
import { cgWrite } from '../fsutil';
import type { DeviceRule } from '../types';

export function set(dir: string, rules: DeviceRule[] | undefined): void {
  if (!rules) return;
  for (const r of effectiveRules(rules)) cgWrite('devices', dir, r.allow ? 'devices.allow' : 'devices.deny', v1RuleString(r));
}
