/**
 * The parts of create that act from the host on the new init, between the
 * clone and the plan (the init is still waiting for its plan, so nothing of
 * the container runs yet): linux.netDevices and linux.intelRdt. Also the
 * host checks that must fail `create` before anything exists: LSM labels
 * asked for on a host without that LSM, intelRdt without resctrl.
 *
 * What was created on the host is recorded in the state dir (HOST_EXTRAS)
 * so delete (and create's rollback) release it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Spec } from '../config/types';

export const HOST_EXTRAS = 'host-extras.json';

interface HostExtrasRecord {
  /** resctrl directories we made (removed on delete, innermost first). */
  resctrlDirs: string[];
}

/** AppArmor as runc's apparmor.IsEnabled: securityfs entry + module parameter. */
export function apparmorEnabled(): boolean {
  try {
    if (!fs.existsSync('/sys/kernel/security/apparmor')) return false;
    return fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

/** SELinux: selinuxfs mounted (its enforce file exists). */
export function selinuxEnabled(): boolean {
  return fs.existsSync('/sys/fs/selinux/enforce');
}

/** The mount point of a resctrl filesystem in our mount namespace, or undefined. */
export function resctrlMount(mountinfo = '/proc/self/mountinfo'): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(mountinfo, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    if (line.slice(sep + 3).split(' ')[0] === 'resctrl') return unescapeMount(line.split(' ')[4]);
  }
  return undefined;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

const IFNAME = /^[^\s/:]{1,15}$/;

/** Checks that need no container: fail create early with the field's path. */
export function checkHostExtras(config: Spec): void {
  const proc = config.process;
  const linux = config.linux ?? {};
  if (proc?.apparmorProfile && !apparmorEnabled()) {
    throw new TsrunError(`process.apparmorProfile: profile ${JSON.stringify(proc.apparmorProfile)} requested, but AppArmor is not enabled on this host`);
  }
  if (proc?.selinuxLabel && !selinuxEnabled()) {
    throw new TsrunError(`process.selinuxLabel: label ${JSON.stringify(proc.selinuxLabel)} requested, but SELinux is not enabled on this host`);
  }
  if (linux.mountLabel && !selinuxEnabled()) {
    throw new TsrunError(`linux.mountLabel: label ${JSON.stringify(linux.mountLabel)} requested, but SELinux is not enabled on this host`);
  }
  if (linux.intelRdt) {
    if (!resctrlMount()) {
      throw new TsrunError('linux.intelRdt: Intel RDT needs a mounted resctrl filesystem, and none is mounted on this host (mount -t resctrl resctrl /sys/fs/resctrl, on a CPU with RDT)');
    }
    const rdt = linux.intelRdt as { closID?: string; l3CacheSchema?: string; memBwSchema?: string; schemata?: string[] };
    if (rdt.closID !== undefined && rdt.closID !== '/' && !/^[^/\n]+$/.test(rdt.closID)) {
      throw new TsrunError(`linux.intelRdt.closID: ${JSON.stringify(rdt.closID)} is not a valid resctrl group name`);
    }
    if (rdt.memBwSchema !== undefined && !rdt.memBwSchema.startsWith('MB:')) throw new TsrunError('linux.intelRdt.memBwSchema: must start with "MB:"');
    for (const [k, v] of [['l3CacheSchema', rdt.l3CacheSchema], ['memBwSchema', rdt.memBwSchema], ...(rdt.schemata ?? []).map((s, i) => [`schemata[${i}]`, s])]) {
      if (v !== undefined && v.includes('\n')) throw new TsrunError(`linux.intelRdt.${k}: must not contain newlines`);
    }
  }
  const devs = Object.entries(linux.netDevices ?? {});
  if (devs.length > 0) {
    const net = (linux.namespaces ?? []).find((n) => n.type === 'network');
    if (!net) throw new TsrunError('linux.netDevices: moving network devices needs a network namespace in linux.namespaces');
    const targets = new Set<string>();
    for (const [host, d] of devs) {
      if (!IFNAME.test(host)) throw new TsrunError(`linux.netDevices.${host}: invalid network device name`);
      const name = d.name ?? host;
      if (!IFNAME.test(name)) throw new TsrunError(`linux.netDevices.${host}.name: invalid network device name ${JSON.stringify(name)}`);
      if (targets.has(name) && !name.includes('%d')) throw new TsrunError(`linux.netDevices.${host}.name: ${JSON.stringify(name)} is used twice`);
      targets.add(name);
    }
  }
}

function ip(args: string[], netns?: string): string {
  const argv = netns ? ['nsenter', `--net=${netns}`, 'ip', ...args] : ['ip', ...args];
  try {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new TsrunError(`linux.netDevices: ${argv[0]} not found (install iproute2 and util-linux)`);
    throw new TsrunError(`${argv.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

interface IpAddr {
  family: string;
  local: string;
  prefixlen: number;
  scope?: string;
  dynamic?: boolean;
  broadcast?: string;
}

/**
 * Moves each host device into the container's network namespace under its new
 * name, re-adds its permanent global addresses (a move flushes them) and sets
 * it up. Whatever happens later, the devices go back (physical) or vanish
 * (virtual) with the namespace: the spec forbids moving them back ourselves.
 */
export function moveNetDevices(config: Spec, pid: number): void {
  const linux = config.linux ?? {};
  const devs = Object.entries(linux.netDevices ?? {});
  if (devs.length === 0) return;
  const net = (linux.namespaces ?? []).find((n) => n.type === 'network');
  const target = net?.path ?? `/proc/${pid}/ns/net`;
  for (const [host, d] of devs) {
    const name = d.name ?? host;
    const info = JSON.parse(ip(['-j', 'addr', 'show', 'dev', host])) as { ifindex: number; address?: string; addr_info?: IpAddr[] }[];
    if (info.length !== 1) throw new TsrunError(`linux.netDevices.${host}: no such network device on the host`);
    const addrs = (info[0].addr_info ?? []).filter((a) => a.scope === 'global' && !a.dynamic);
    if (!name.includes('%d')) {
      const existing = JSON.parse(ip(['-j', 'link', 'show'], target)) as { ifname: string }[];
      if (existing.some((l) => l.ifname === name)) {
        throw new TsrunError(`linux.netDevices.${host}.name: a device named ${JSON.stringify(name)} already exists in the container's network namespace`);
      }
    }
    ip(['link', 'set', 'dev', host, 'netns', target, 'name', name]);
    // The new name (a %d template is expanded by the kernel): same ifindex, else same address.
    const links = JSON.parse(ip(['-j', 'link', 'show'], target)) as { ifindex: number; ifname: string; address?: string }[];
    const moved =
      links.find((l) => l.ifindex === info[0].ifindex && (l.ifname === name || name.includes('%d'))) ??
      links.find((l) => l.address !== undefined && l.address === info[0].address);
    if (!moved) throw new TsrunError(`linux.netDevices.${host}: moved, but not found in the container's network namespace`);
    for (const a of addrs) {
      const args = ['addr', 'add', `${a.local}/${a.prefixlen}`, 'dev', moved.ifname];
      if (a.broadcast) args.push('broadcast', a.broadcast);
      ip(args, target);
    }
    ip(['link', 'set', 'dev', moved.ifname, 'up'], target);
  }
}

/** linux.intelRdt: the CLOS group (made unless it exists), its schemata, then the pid. */
export function applyIntelRdt(config: Spec, id: string, pid: number, stateDir: string): void {
  const rdt = config.linux?.intelRdt as
    | { closID?: string; l3CacheSchema?: string; memBwSchema?: string; schemata?: string[]; enableMonitoring?: boolean }
    | undefined;
  if (!rdt) return;
  const mount = resctrlMount();
  if (!mount) throw new TsrunError('linux.intelRdt: no resctrl filesystem is mounted');
  const rec: HostExtrasRecord = { resctrlDirs: [] };
  const save = () => fs.writeFileSync(path.join(stateDir, HOST_EXTRAS), JSON.stringify(rec), { mode: 0o600 });
  const write = (file: string, value: string) => {
    try {
      fs.writeFileSync(file, value);
    } catch (e) {
      throw new TsrunError(`linux.intelRdt: write ${JSON.stringify(value)} to ${file}: ${(e as Error).message}`);
    }
  };
  const mkdir = (dir: string) => {
    try {
      fs.mkdirSync(dir);
      rec.resctrlDirs.unshift(dir);
      save();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new TsrunError(`linux.intelRdt: mkdir ${dir}: ${(e as Error).message}`);
    }
  };
  const group = rdt.closID === '/' ? mount : path.join(mount, rdt.closID ?? id);
  if (group !== mount) mkdir(group);
  for (const line of [rdt.l3CacheSchema, rdt.memBwSchema, ...(rdt.schemata ?? [])]) {
    if (line) write(path.join(group, 'schemata'), `${line}\n`);
  }
  let tasks = path.join(group, 'tasks');
  if (rdt.enableMonitoring) {
    const mon = path.join(group, 'mon_groups', id);
    mkdir(mon);
    tasks = path.join(mon, 'tasks');
  }
  write(tasks, String(pid));
}

/** Releases what create recorded in the state dir (delete and rollback). Best effort. */
export function releaseHostExtras(stateDir: string): void {
  const file = path.join(stateDir, HOST_EXTRAS);
  if (!fs.existsSync(file)) return; // the usual case, without an ENOENT thrown
  let rec: HostExtrasRecord;
  try {
    rec = JSON.parse(fs.readFileSync(file, 'utf8')) as HostExtrasRecord;
  } catch {
    return;
  }
  for (const dir of rec.resctrlDirs ?? []) {
    try {
      fs.rmdirSync(dir);
    } catch {
      /* still in use or gone */
    }
  }
}
