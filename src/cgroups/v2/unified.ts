/** linux.resources.unified: raw cgroup v2 "file": "value" pairs, written as given. */
import { TsrunError } from '../../errors';
import { cgExists, cgWrite } from '../fsutil';

/** The controller a unified key belongs to ("memory.high" → memory); undefined for core files (cgroup.*). */
export function keyController(key: string): string | undefined {
  const c = key.split('.')[0];
  return c === 'cgroup' ? undefined : c;
}

export function validateKeys(unified: Record<string, string> | undefined): void {
  for (const k of Object.keys(unified ?? {})) {
    if (!k || k.includes('/') || k === '.' || k === '..' || !k.includes('.')) throw new TsrunError(`invalid linux.resources.unified key ${JSON.stringify(k)}`);
  }
}

export function set(dir: string, unified: Record<string, string> | undefined, enabled: (c: string) => boolean): void {
  validateKeys(unified);
  for (const [k, v] of Object.entries(unified ?? {})) {
    const c = keyController(k);
    if (!cgExists(dir, k)) {
      if (c && !enabled(c)) throw new TsrunError(`cannot set unified resource ${k}: controller ${c} is not enabled in ${dir} (cgroup.controllers)`);
      throw new TsrunError(`cannot set unified resource ${k}: ${dir}/${k} does not exist`);
    }
    cgWrite(c ?? 'cgroup', dir, k, v);
  }
}
