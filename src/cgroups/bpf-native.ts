/**
 * The BPF half of the addon (addon/spawn/bpf.cc): load a device filter and
 * attach it to a cgroup2 directory, replacing the filters attached there
 * before. Loaded on first use only (cgroup v2 create with device rules).
 */
import { TsrunError } from '../errors';
import { addonWith } from '../native/addon';
import { deviceFilterProgram } from './bpf';
import type { DeviceRule } from './types';

interface BpfAddon {
  bpfDeviceAttach(dir: string, insns: Buffer, license: string): { progId: number; detached: number };
  bpfDeviceQuery(dir: string): { ids: number[]; flags: number };
}

function bpfAddon(): BpfAddon {
  return addonWith<BpfAddon>('BPF', ['bpfDeviceAttach', 'bpfDeviceQuery']);
}

function rethrow(what: string, e: unknown): never {
  const err = e as Error & { errno?: number; syscall?: string };
  throw new TsrunError(`${what}: ${err?.message ?? String(e)}`, { errno: err?.errno, syscall: err?.syscall ?? 'bpf' });
}

/** Compiles the rules and attaches the program to `dir` (a cgroup2 directory). */
export function attachDeviceFilter(dir: string, rules: DeviceRule[]): { progId: number; detached: number } {
  const prog = deviceFilterProgram(rules);
  try {
    return bpfAddon().bpfDeviceAttach(dir, prog, 'Apache');
  } catch (e) {
    rethrow(`cannot set devices limit (cgroup v2 device filter for ${dir})`, e);
  }
}

/** Ids of the device programs attached to `dir` itself. */
export function deviceFilterIds(dir: string): number[] {
  try {
    return bpfAddon().bpfDeviceQuery(dir).ids;
  } catch (e) {
    rethrow(`query device filters of ${dir}`, e);
  }
}
