/**
 * The systemd cgroup driver (--systemd-cgroup, --cgroup-manager systemd), as
 * runc's: cgroupsPath is "slice:prefix:name"; the container's cgroup is a
 * transient scope unit `<prefix>-<name>.scope` in `slice`, started over D-Bus
 * with the init's pid in it and Delegate=yes, so systemd owns the unit and
 * tsrun owns what is inside. The resources systemd knows are also given as
 * unit properties (so a daemon-reload keeps them); then the cgroupfs code
 * writes every resource exactly as without systemd. delete stops the unit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { LinuxResources } from '../config/types';
import { DbusConnection, DbusError } from './dbus';
import type { DbusValue, Message, Variant } from './dbus-wire';
import { effectiveRules } from './devices';
import type { DeviceRule } from './types';

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

/**
 * A slice name as its cgroup path: "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice",
 * "-.slice" → "/" (systemd's unit_name_to_path rules, as runc's ExpandSlice).
 */
export function expandSlice(slice: string): string {
  const bad = (): never => {
    throw new TsrunError(`invalid slice name ${JSON.stringify(slice)}`);
  };
  if (!slice.endsWith('.slice') || slice.includes('/')) bad();
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-') return '/';
  if (name === '' || name.startsWith('-') || name.endsWith('-') || name.includes('--')) bad();
  let out = '';
  let prefix = '';
  for (const part of name.split('-')) {
    out += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return out;
}

export interface SystemdUnit {
  /** The scope unit: `<prefix>-<name>.scope`. */
  unit: string;
  slice: string;
  /** The cgroup path below every hierarchy's root: `/<expanded slice>/<unit>`. */
  cgroupPath: string;
}

/**
 * The unit for a container. An empty cgroupsPath means `system.slice:tsrun:<id>`
 * (runc: `system.slice:runc:<id>`; `user.slice` when rootless).
 */
export function systemdUnit(cgroupsPath: string | undefined, id: string, rootless = false): SystemdUnit {
  const p = parseSystemdPath(cgroupsPath) ?? { slice: '', prefix: 'tsrun', name: id };
  if (p.name.endsWith('.slice')) throw new TsrunError(`systemd cgroup driver: ${JSON.stringify(p.name)}: tsrun puts a container in a scope unit, not a slice; give a scope name (slice:prefix:name)`);
  if (!p.name || p.name.includes('/')) throw new TsrunError(`systemd cgroup driver: invalid unit name ${JSON.stringify(p.name)} in cgroupsPath ${JSON.stringify(cgroupsPath)}`);
  const slice = p.slice || (rootless ? 'user.slice' : 'system.slice');
  const unit = p.prefix ? `${p.prefix}-${p.name}.scope` : `${p.name}.scope`;
  return { unit, slice, cgroupPath: path.posix.join(expandSlice(slice), unit) };
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const prop = (name: string, sig: string, value: DbusValue): DbusValue => [name, { sig, value } satisfies Variant];
const u64 = (n: number): bigint => (n < 0 ? U64_MAX : BigInt(n));

/** The resource properties systemd keeps for the unit (the cgroupfs writes that follow set them all anyway). */
export function resourceProperties(r: LinuxResources | undefined, unified: boolean): DbusValue[] {
  const out: DbusValue[] = [];
  if (!r) return out;
  const mem = r.memory?.limit;
  if (typeof mem === 'number' && mem !== 0) out.push(prop(unified ? 'MemoryMax' : 'MemoryLimit', 't', u64(mem)));
  const shares = r.cpu?.shares;
  if (typeof shares === 'number' && shares > 0) {
    // runc's conversion of cpu.shares [2, 262144] to cpu.weight [1, 10000].
    if (unified) out.push(prop('CPUWeight', 't', BigInt(1 + Math.floor(((Math.min(Math.max(shares, 2), 262144) - 2) * 9999) / 262142))));
    else out.push(prop('CPUShares', 't', BigInt(shares)));
  }
  const quota = r.cpu?.quota;
  if (typeof quota === 'number' && quota > 0) {
    const period = r.cpu?.period || 100_000;
    // Per second of wall time, rounded up to systemd's 10 ms granularity (as runc).
    let perSec = Math.floor((quota * 1_000_000) / period);
    if (perSec % 10_000 !== 0) perSec = (Math.floor(perSec / 10_000) + 1) * 10_000;
    out.push(prop('CPUQuotaPerSecUSec', 't', BigInt(perSec)));
  }
  const pids = r.pids?.limit;
  if (typeof pids === 'number' && pids !== 0) out.push(prop('TasksMax', 't', u64(pids)));
  return out;
}

/** Waits for the job's JobRemoved; false when it did not come within timeoutMs. */
/** "136" → "pts": block or char majors by name, from /proc/devices (systemd's `char-<name>`). */
function majorNames(text: string): { c: Map<number, string>; b: Map<number, string> } {
  const out = { c: new Map<number, string>(), b: new Map<number, string>() };
  let cur: Map<number, string> | undefined;
  for (const line of text.split('\n')) {
    if (/^Character devices:/.test(line)) cur = out.c;
    else if (/^Block devices:/.test(line)) cur = out.b;
    else {
      const m = /^\s*(\d+)\s+(\S+)$/.exec(line);
      if (m && cur && !cur.has(Number(m[1]))) cur.set(Number(m[1]), m[2]);
    }
  }
  return out;
}

/**
 * The device rules as DevicePolicy/DeviceAllow (runc does the same): without them systemd,
 * applying the unit again (daemon-reload), would open the v1 device list to everything.
 * Deny rules have no DeviceAllow form: the strict policy denies what is not listed, and
 * tsrun's own device program (or v1 list) still applies every rule in order.
 */
export function deviceProperties(rules: DeviceRule[] | undefined, procDevices = (): string => fs.readFileSync('/proc/devices', 'utf8')): DbusValue[] {
  if (!rules) return [];
  const eff = effectiveRules(rules);
  if (eff.length && eff[0].type === 'a' && eff[0].allow && eff.every((r) => r.allow)) return [prop('DevicePolicy', 's', 'auto')];
  const allow: DbusValue[] = [];
  let names: ReturnType<typeof majorNames> | undefined;
  for (const r of eff) {
    if (!r.allow) continue;
    const kind = r.type === 'b' ? 'block' : 'char';
    const access = r.access || 'rwm';
    if (r.type === 'a') {
      allow.push(['char-*', access], ['block-*', access]);
    } else if (r.major < 0) {
      allow.push([`${kind}-*`, access]);
    } else if (r.minor < 0) {
      names ??= majorNames(procDevices());
      const name = (r.type === 'b' ? names.b : names.c).get(r.major);
      if (name) allow.push([`${kind}-${name}`, access]);
    } else {
      allow.push([`/dev/${kind}/${r.major}:${r.minor}`, access]);
    }
  }
  return [prop('DevicePolicy', 's', 'strict'), prop('DeviceAllow', 'a(ss)', allow)];
}

function jobDone(conn: DbusConnection, job: string, unit: string, what: string, timeoutMs?: number): boolean {
  const isOurs = (m: Message): boolean => m.member === 'JobRemoved' && m.body[1] === job;
  const m = conn.waitSignal(isOurs, timeoutMs);
  if (!m) {
    if (timeoutMs !== undefined) return false;
    throw new TsrunError(`systemd cgroup driver: ${what} ${unit}: no answer from systemd`);
  }
  const result = String(m.body[3]);
  if (result !== 'done') throw new TsrunError(`systemd cgroup driver: ${what} ${unit}: job ${result}`);
  return true;
}

/** How long delete waits for a stop job (runc: 1 s); the cgroups are removed by tsrun anyway. */
const STOP_WAIT_MS = 1000;

function subscribe(conn: DbusConnection): void {
  conn.call({ member: 'Subscribe' });
  if (conn.viaBus) {
    conn.call({
      path: '/org/freedesktop/DBus',
      iface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      destination: 'org.freedesktop.DBus',
      signature: 's',
      body: ["type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"],
    });
  }
}

/**
 * Starts the scope with `pid` in it and waits for the job. systemd moves the
 * process into the unit's cgroup in every hierarchy it manages.
 */
export function startScope(u: SystemdUnit, pid: number, id: string, resources: LinuxResources | undefined, rules: DeviceRule[] | undefined, unified: boolean): void {
  const conn = DbusConnection.toSystemd();
  try {
    subscribe(conn);
    const props: DbusValue[] = [
      prop('Description', 's', `tsrun container ${id}`),
      prop('Slice', 's', u.slice),
      prop('Delegate', 'b', true),
      prop('PIDs', 'au', [pid]),
      prop('DefaultDependencies', 'b', false),
      prop('MemoryAccounting', 'b', true),
      prop('CPUAccounting', 'b', true),
      prop('TasksAccounting', 'b', true),
      prop('IOAccounting', 'b', true),
      ...resourceProperties(resources, unified),
      ...deviceProperties(rules),
    ];
    let job: string;
    try {
      [job] = conn.call({ member: 'StartTransientUnit', signature: 'ssa(sv)a(sa(sv))', body: [u.unit, 'replace', props, []] }) as [string];
    } catch (e) {
      if (e instanceof DbusError && e.dbusName === 'org.freedesktop.systemd1.UnitExists') throw new TsrunError(`systemd cgroup driver: unit ${u.unit} already exists`);
      throw new TsrunError(`systemd cgroup driver: start ${u.unit}: ${(e as Error).message}`);
    }
    jobDone(conn, job, u.unit, 'start');
  } finally {
    conn.close();
  }
}

/** Stops the unit and waits for the job; a unit systemd no longer knows is already gone. */
export function stopScope(unit: string): void {
  const conn = DbusConnection.toSystemd();
  try {
    subscribe(conn);
    let job: string;
    try {
      [job] = conn.call({ member: 'StopUnit', signature: 'ss', body: [unit, 'replace'] }) as [string];
    } catch (e) {
      if (e instanceof DbusError && (e.dbusName === 'org.freedesktop.systemd1.NoSuchUnit' || e.dbusName === 'org.freedesktop.DBus.Error.UnknownObject')) return;
      throw new TsrunError(`systemd cgroup driver: stop ${unit}: ${(e as Error).message}`);
    }
    // A process left in the scope that ignores SIGTERM would hold the job for systemd's stop
    // timeout; tsrun kills the container's processes itself before it removes its cgroups.
    if (!jobDone(conn, job, unit, 'stop', STOP_WAIT_MS)) return;
    // A failed scope (e.g. killed by a signal) stays loaded as "failed" until reset, and its name is taken.
    try {
      conn.call({ member: 'ResetFailedUnit', signature: 's', body: [unit] });
    } catch {
      /* not failed, or already unloaded */
    }
  } finally {
    conn.close();
  }
}

/** `update`: the unit's properties follow the new resources (runtime only, as runc), so a daemon-reload keeps them. */
export function setScopeResources(unit: string, resources: LinuxResources, unified: boolean): void {
  const props = resourceProperties(resources, unified);
  if (!props.length) return;
  const conn = DbusConnection.toSystemd();
  try {
    conn.call({ member: 'SetUnitProperties', signature: 'sba(sv)', body: [unit, true, props] });
  } catch (e) {
    throw new TsrunError(`systemd cgroup driver: set properties of ${unit}: ${(e as Error).message}`);
  } finally {
    conn.close();
  }
}
