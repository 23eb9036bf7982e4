/**
 * `tsrun update <id>`: changes resource limits of a live container.
 *   --resources FILE | -  : a LinuxResources JSON (all other flags are then ignored, as runc)
 *   per-field flags       : runc's (--memory 512m, --cpu-share, --cpuset-cpus, --pids-limit, ...)
 * Only the given fields are written. Device rules are never updated.
 */
import * as fs from 'node:fs';
import type { CommandRun, Flags } from '../cli/types';
import { loadContainerCgroup, requireAlive, requireCgroup, saveResources } from '../cgroups/container';
import type { LinuxResources } from '../config/types';
import { TsrunError, describeSystemError } from '../errors';
import { getLogger } from '../log/logger';
import { withLock } from '../state/lock';

/** docker/go-units RAMInBytes: "512m", "1.5g", "1024", "2GiB" (binary multiples); "-1" = unlimited. */
export function parseRam(flag: string, v: string): number {
  if (v === '-1') return -1;
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v.trim());
  if (!m) throw new TsrunError(`invalid value for --${flag}: ${JSON.stringify(v)}`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * mult[(m[2] ?? '').toLowerCase()]);
}

function parseIntFlag(flag: string, v: string, signed: boolean): number {
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(v.trim())) throw new TsrunError(`invalid value for --${flag}: ${JSON.stringify(v)}`);
  return Number(v);
}

const str = (f: Flags, k: string): string | undefined => {
  const v = f[k];
  return v === undefined || v === '' ? undefined : String(v);
};

/** The resources named by the per-field flags (undefined fields untouched). */
export function resourcesFromFlags(f: Flags): LinuxResources {
  const r: LinuxResources = {};
  const mem: NonNullable<LinuxResources['memory']> = {};
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const ram = (k: string, flag: string): number | undefined => (str(f, k) === undefined ? undefined : parseRam(flag, str(f, k)!));
  const memory = ram('memory', 'memory');
  const reservation = ram('memoryReservation', 'memory-reservation');
  const swap = ram('memorySwap', 'memory-swap');
  const kernel = ram('kernelMemory', 'kernel-memory');
  const kernelTCP = ram('kernelMemoryTcp', 'kernel-memory-tcp');
  if (memory !== undefined) mem.limit = memory;
  if (reservation !== undefined) mem.reservation = reservation;
  if (swap !== undefined) mem.swap = swap;
  if (kernel !== undefined) mem.kernel = kernel;
  if (kernelTCP !== undefined) mem.kernelTCP = kernelTCP;
  const ints: [string, string, keyof typeof cpu, boolean][] = [
    ['cpuShare', 'cpu-share', 'shares', false],
    ['cpuShares', 'cpu-shares', 'shares', false],
    ['cpuQuota', 'cpu-quota', 'quota', true],
    ['cpuPeriod', 'cpu-period', 'period', false],
    ['cpuRtRuntime', 'cpu-rt-runtime', 'realtimeRuntime', true],
    ['cpuRtPeriod', 'cpu-rt-period', 'realtimePeriod', false],
    ['cpuIdle', 'cpu-idle', 'idle', true],
  ];
  for (const [k, flag, field, signed] of ints) {
    const v = str(f, k);
    if (v !== undefined) (cpu as Record<string, number>)[field] = parseIntFlag(flag, v, signed);
  }
  if (str(f, 'cpusetCpus') !== undefined) cpu.cpus = str(f, 'cpusetCpus');
  if (str(f, 'cpusetMems') !== undefined) cpu.mems = str(f, 'cpusetMems');
  if (Object.keys(mem).length) r.memory = mem;
  if (Object.keys(cpu).length) r.cpu = cpu;
  const pids = str(f, 'pidsLimit');
  if (pids !== undefined && Number(pids) !== 0) r.pids = { limit: parseIntFlag('pids-limit', pids, true) };
  const bw = str(f, 'blkioWeight');
  if (bw !== undefined && Number(bw) !== 0) r.blockIO = { weight: parseIntFlag('blkio-weight', bw, false) };
  if (str(f, 'l3CacheSchema') !== undefined || str(f, 'memBwSchema') !== undefined) throw new TsrunError('Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by tsrun');
  return r;
}

export function readResourcesJson(src: string): LinuxResources {
  let text: string;
  try {
    text = fs.readFileSync(src === '-' ? 0 : src, 'utf8');
  } catch (e) {
    throw describeSystemError(`read resources from ${src === '-' ? 'standard input' : src}`, e);
  }
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new TsrunError(`decode resources from ${src === '-' ? 'standard input' : src}: ${(e as Error).message}`);
  }
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new TsrunError('resources must be a JSON object (linux.resources)');
  return r as LinuxResources;
}

export const run: CommandRun = (inv) => {
  const root = inv.globals.root;
  const id = inv.positionals[0];
  const res = typeof inv.flags.resources === 'string' && inv.flags.resources !== '' ? readResourcesJson(inv.flags.resources) : resourcesFromFlags(inv.flags);
  return withLock(root, id, () => {
    const c = loadContainerCgroup(root, id);
    requireAlive(c);
    requireCgroup(c, 'update');
    c.cg.update(res);
    // runc keeps the new values in its state: later updates, `events` and exec see them.
    saveResources(root, c.rec, res);
    for (const w of c.cg.warnings) getLogger().warn(w);
    return 0;
  });
};
