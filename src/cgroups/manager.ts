/**
 * The cgroupfs driver: creates the container's cgroups, writes resources,
 * joins processes, freezes, reports stats and removes what it created.
 *
 * Where each resource goes:
 *   v1     - each controller's own hierarchy;
 *   v2     - the unified directory (all available controllers enabled down the path, as runc);
 *   hybrid - v1 hierarchies; a controller that is not mounted on v1 but is
 *            available on the cgroup2 hierarchy (this host: hugetlb) is enabled
 *            there and written with v2 semantics; `unified` keys go to the
 *            cgroup2 directory when their controller is available there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LinuxResources } from '../config/types';
import { TsrunError, describeSystemError } from '../errors';
import type { SetCtx } from './ctx';
import { deviceFilterInsns, disassemble } from './bpf';
import { CgroupDirs, uniqueDirs } from './dirs';
import { deviceRules } from './devices';
import { cgNote, cgReadOpt, cgWrite, dryRunWrites, isDryRun, type TracedWrite } from './fsutil';
import { checkBlockIO, checkHugepageLimits, RESOURCE_FIELD } from './knobs';
import { hostLayout, type Layout } from './layout';
import { resolvePaths } from './paths';
import { collectStats } from './stats';
import { ERR_NO_SYSTEMD, setScopeResources, startScope, stopScope, systemdRunning, systemdUnit, type SystemdUnit } from './systemd';
import type { BlockIO, CgroupRecord, CgroupSpec, DeviceRule, Network, Stats } from './types';
import * as v1blkio from './v1/blkio';
import * as v1cpu from './v1/cpu';
import * as v1cpuset from './v1/cpuset';
import * as v1devices from './v1/devices';
import * as v1hugetlb from './v1/hugetlb';
import * as v1memory from './v1/memory';
import * as v1net from './v1/net';
import * as pids from './v1/pids';
import * as rdma from './v1/rdma';
import * as v2cpu from './v2/cpu';
import * as v2cpuset from './v2/cpuset';
import * as v2hugetlb from './v2/hugetlb';
import * as v2io from './v2/io';
import * as v2memory from './v2/memory';
import * as unified from './v2/unified';

export interface CgroupHandle {
  readonly record: CgroupRecord;
  /** Settings accepted but not enforceable here (the caller logs them at warn level). */
  readonly warnings: string[];
  /** Writes pid to cgroup.procs of every hierarchy (v1) / the unified directory (v2); only the unified one with `unifiedOnly`. */
  addProcess(pid: number, unifiedOnly?: boolean): void;
  /** Removes the directories this container created (deepest first), retrying while processes drain. */
  destroy(): void;
}

export interface OpenCgroup extends CgroupHandle {
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** Host pids in the container's cgroup and its sub-cgroups, sorted. */
  pids(): number[];
  stats(): Stats;
  update(r: LinuxResources): void;
  /** Signals every process (SIGKILL on v2: cgroup.kill); freezes around it so nothing forks meanwhile. */
  killAll(signal: number): void;
  /** memory OOM kill counter (v1 memory.oom_control oom_kill / v2 memory.events oom_kill), if available. */
  oomKillCount(): number | undefined;
}

/** v1 controller → cgroup2 controller name. */
const V2_NAME: Record<string, string> = { memory: 'memory', cpu: 'cpu', cpuset: 'cpuset', pids: 'pids', blkio: 'io', hugetlb: 'hugetlb', rdma: 'rdma' };

/** Which v1 controllers a resources object needs to write to. */
export function neededControllers(r: LinuxResources | undefined, rules: DeviceRule[] | undefined): string[] {
  const out: string[] = [];
  if (!r) return out;
  if (v1memory.isSet(r.memory)) out.push('memory');
  if (v1cpu.isSet(r.cpu)) out.push('cpu');
  if (v1cpuset.isSet(r.cpu)) out.push('cpuset');
  if (pids.isSet(r.pids)) out.push('pids');
  if (v1blkio.isSet(r.blockIO as BlockIO | undefined)) out.push('blkio');
  if (v1hugetlb.isSet(r.hugepageLimits)) out.push('hugetlb');
  if (v1net.clsSet(r.network as Network | undefined)) out.push('net_cls');
  if (v1net.prioSet(r.network as Network | undefined)) out.push('net_prio');
  if (rdma.isSet(r.rdma)) out.push('rdma');
  if (rules && rules.length) out.push('devices');
  return out;
}

/** The controllers a cgroup2 directory offers (its cgroup.controllers); empty when unreadable. */
export function available(dir: string): Set<string> {
  return new Set((cgReadOpt(dir, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean));
}

/** mkdir -p, recording each directory actually created. Fake trees get the parent's file names (as the kernel would). */
function mkdirTracked(dir: string, created: string[], fake: boolean, controller: string): void {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue; // raced with someone else: not ours
      throw describeSystemError(`cannot create cgroup for ${controller || 'cgroup2'} at ${d}`, e);
    }
    created.push(d);
    if (fake) {
      const parent = path.dirname(d);
      for (const e of fs.readdirSync(parent, { withFileTypes: true })) {
        if (!e.isFile() || e.name === 'cgroup.sane_behavior' || e.name === 'release_agent') continue;
        const content = e.name === 'cgroup.controllers' ? (cgReadOpt(parent, 'cgroup.subtree_control') ?? '').replace(/\+/g, '') : e.name.startsWith('cpuset.') ? '' : fs.readFileSync(path.join(parent, e.name), 'utf8');
        fs.writeFileSync(path.join(d, e.name), e.name === 'cgroup.procs' || e.name === 'tasks' || e.name === 'cgroup.subtree_control' ? '' : content);
      }
    }
  }
}

/** What createIn will use and make: the paths of every hierarchy, and the directories missing now (parents first). */
function plannedRecord(layout: Layout, paths: Record<string, string>, base: CgroupRecord): CgroupRecord {
  const planned: CgroupRecord = { ...base, paths: {}, created: [] };
  const dirs: string[] = [];
  for (const h of layout.v1) {
    const dir = paths[h.controllers[0]];
    for (const c of h.controllers) planned.paths[c] = dir;
    dirs.push(dir);
  }
  if (layout.unified && paths['']) {
    planned.paths[''] = paths[''];
    dirs.push(paths['']);
  }
  for (const dir of dirs) {
    const missing: string[] = [];
    for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) if (!planned.created.includes(d)) planned.created.push(d);
  }
  return planned;
}

/**
 * Enables `ctrls` (all available when undefined) in subtree_control from the
 * hierarchy root down to dir's parent. Records in `enabled` what was not
 * enabled before, so a failed create can disable it again.
 */
function enableControllers(mountPoint: string, dir: string, ctrls: string[] | undefined, enabled: { dir: string; ctrl: string }[]): void {
  const rel = path.relative(mountPoint, dir);
  if (!rel || rel.startsWith('..')) return;
  const want = ctrls ?? [...available(mountPoint)];
  if (want.length === 0) return;
  let cur = mountPoint;
  for (const part of rel.split('/')) {
    const had = (cgReadOpt(cur, 'cgroup.subtree_control') ?? '').split(/\s+/);
    for (const c of want) if (!had.includes(c)) enabled.push({ dir: cur, ctrl: c });
    const line = want.map((c) => `+${c}`).join(' ');
    try {
      cgWrite('cgroup2', cur, 'cgroup.subtree_control', line);
    } catch {
      // One by one: some may not be delegatable; the resource write reports the real problem.
      for (const c of want) {
        try {
          cgWrite(c, cur, 'cgroup.subtree_control', `+${c}`);
        } catch {
          /* reported later */
        }
      }
    }
    cur = path.join(cur, part);
  }
}

/** Writes resources to the record's directories; shared by create and update. */
function applyResources(rec: CgroupRecord, r: LinuxResources, rules: DeviceRule[] | undefined, ctx: SetCtx): void {
  const u = rec.paths[''];
  const blk = r.blockIO as BlockIO | undefined;
  const net = r.network as Network | undefined;
  if (rec.mode === 'v2') {
    if (!u) throw new TsrunError('cgroup v2 record has no unified path');
    checkHugepageLimits(r.hugepageLimits, { dir: u, v2: true });
    checkBlockIO(blk, { dir: u, v2: true });
    const cpu = r.cpu;
    v2cpuset.set(u, cpu);
    v2cpu.set(u, cpu, ctx);
    v2memory.set(u, r.memory, ctx);
    pids.set(u, r.pids);
    v2io.set(u, blk, ctx);
    v2hugetlb.set(u, r.hugepageLimits);
    rdma.set(u, r.rdma);
    if (net?.classID || net?.priorities?.length) ctx.warn('network.classID / network.priorities ignored: cgroup v2 has no net_cls / net_prio (use eBPF)');
    // Device rules: a BPF_CGROUP_DEVICE program (bpf.ts), replacing any attached before. Fake trees only get the listing.
    if (rules) {
      // Not a file write: recorded (trace, dry run) as one, under a name no cgroup file has.
      cgNote(path.join(u, '<BPF_PROG_TYPE_CGROUP_DEVICE>'), `${rules.length} device rules`);
      if (isDryRun()) {
        /* recorded only */
      } else if (rec.fake) fs.writeFileSync(path.join(u, 'devices.bpf'), disassemble(deviceFilterInsns(rules)).join('\n') + '\n');
      else (require('./bpf-native') as typeof import('./bpf-native')).attachDeviceFilter(u, rules);
    }
    unified.set(u, r.unified, (c) => available(u).has(c));
    return;
  }
  const needed = neededControllers(r, rules);
  const fb = new Set(rec.v2Fallback ?? []);
  const dirOf = (c: string): string | undefined => rec.paths[c];
  for (const c of needed) {
    if (!dirOf(c) && !(fb.has(c) && u)) throw new TsrunError(`${RESOURCE_FIELD[c] ?? 'linux.resources'}: cannot set ${c} limit: the ${c} controller is not mounted (cgroup v1)${rec.mode === 'hybrid' ? ' nor available on the cgroup2 hierarchy' : ''}`);
  }
  const v2 = (c: string): string | undefined => (!dirOf(c) && fb.has(c) ? u : undefined);
  // Knobs the host lacks fail here, before any write (update too: no half-applied update).
  if (needed.includes('hugetlb')) checkHugepageLimits(r.hugepageLimits, dirOf('hugetlb') ? { dir: dirOf('hugetlb')!, v2: false } : { dir: v2('hugetlb')!, v2: true });
  if (needed.includes('blkio')) checkBlockIO(blk, dirOf('blkio') ? { dir: dirOf('blkio')!, v2: false } : { dir: v2('blkio')!, v2: true });
  const cpuDir = dirOf('cpu');
  const cpusetDir = dirOf('cpuset');
  if (needed.includes('cpuset')) cpusetDir ? v1cpuset.set(cpusetDir, r.cpu, ctx) : v2cpuset.set(v2('cpuset')!, r.cpu);
  if (needed.includes('cpu')) cpuDir ? v1cpu.set(cpuDir, r.cpu, ctx) : v2cpu.set(v2('cpu')!, r.cpu, ctx);
  if (needed.includes('memory')) dirOf('memory') ? v1memory.set(dirOf('memory')!, r.memory, ctx) : v2memory.set(v2('memory')!, r.memory, ctx);
  if (needed.includes('pids')) pids.set((dirOf('pids') ?? v2('pids'))!, r.pids);
  if (needed.includes('blkio')) dirOf('blkio') ? v1blkio.set(dirOf('blkio')!, blk, ctx) : v2io.set(v2('blkio')!, blk, ctx);
  if (needed.includes('hugetlb')) dirOf('hugetlb') ? v1hugetlb.set(dirOf('hugetlb')!, r.hugepageLimits) : v2hugetlb.set(v2('hugetlb')!, r.hugepageLimits);
  if (needed.includes('net_cls')) v1net.setCls(dirOf('net_cls')!, net);
  if (needed.includes('net_prio')) v1net.setPrio(dirOf('net_prio')!, net);
  if (needed.includes('rdma')) rdma.set((dirOf('rdma') ?? v2('rdma'))!, r.rdma);
  if (needed.includes('devices')) v1devices.set(dirOf('devices')!, rules);
  if (r.unified && Object.keys(r.unified).length) {
    if (rec.mode === 'v1' || !u) throw new TsrunError('invalid configuration: cannot use unified on cgroup v1 (linux.resources.unified requires cgroup v2, but this host has only cgroup v1 hierarchies)');
    unified.set(u, r.unified, (c) => available(u).has(c));
  }
}

class Cgroup extends CgroupDirs implements OpenCgroup {
  readonly warnings: string[] = [];
  constructor(record: CgroupRecord, fake = false) {
    super(record, fake);
  }

  private ctx(update: boolean): SetCtx {
    return { update, warn: (m) => this.warnings.push(m) };
  }

  addProcess(pid: number, unifiedOnly = false): void {
    for (const [k, d] of uniqueDirs(this.record.paths)) if (!unifiedOnly || k === '') cgWrite(k || 'cgroup2', d, 'cgroup.procs', String(pid));
  }

  stats(): Stats {
    return collectStats(this.record);
  }

  update(r: LinuxResources): void {
    if (this.record.mode === 'disabled') throw new TsrunError('cannot update resources: the container has no cgroup (cgroup manager disabled)');
    // Device rules are not updated (runc neither): re-applying them on v1 would open a deny-all window.
    applyResources(this.record, { ...r, devices: undefined }, undefined, this.ctx(true));
    if (this.record.systemdUnit) setScopeResources(this.record.systemdUnit, r, this.record.mode === 'v2');
  }

  oomKillCount(): number | undefined {
    const p = this.record.paths;
    const text = p.memory ? cgReadOpt(p.memory, 'memory.oom_control') : p[''] ? cgReadOpt(p[''], 'memory.events') : undefined;
    const m = /^oom_kill (\d+)$/m.exec(text ?? '');
    return m ? Number(m[1]) : undefined;
  }
}

const DISABLED: CgroupRecord = { version: 1, mode: 'disabled', paths: {}, created: [] };

/**
 * What create will do to the host's cgroups, decided before anything exists
 * (`tsrun explain` shows it; create executes this very object). Reads the host only.
 */
export function usesSystemd(spec: Pick<CgroupSpec, 'systemd' | 'manager'>): boolean {
  return spec.manager === 'systemd' || (spec.systemd && spec.manager !== 'cgroupfs' && spec.manager !== 'disabled');
}

/** runc's default device rules apply where there is a device cgroup; asked-for rules fail without one. */
function containerDeviceRules(layout: Layout, spec: CgroupSpec, warn?: (msg: string) => void): DeviceRule[] | undefined {
  const asked = spec.resources?.devices;
  if (asked === undefined && layout.mode !== 'v2' && !layout.v1.some((h) => h.controllers.includes('devices'))) return undefined;
  return deviceRules(asked, spec.devices, { unrestricted: spec.rootless, warn });
}

export interface CgroupPlan {
  spec: CgroupSpec;
  /** undefined: the cgroup manager is disabled. */
  layout?: Layout;
  /** Directory per hierarchy key (resolvePaths). */
  paths: Record<string, string>;
  rules: DeviceRule[] | undefined;
  /** Warnings about the device rules (access letters runc drops). */
  ruleWarnings: string[];
  /** v1 controllers the resources write to. */
  needed: string[];
  /** Hybrid: v1 controllers written on the cgroup2 hierarchy; cgroup2 controllers to enable. */
  fallback: string[];
  v2Enable: string[];
  /** Every path the container will use and every directory missing now (parents first). */
  planned: CgroupRecord;
  /**
   * The systemd driver: the scope unit systemd makes (with the init in it) in every hierarchy it
   * manages, before the cgroupfs code makes what is missing and writes the resources there.
   */
  systemd?: SystemdUnit;
}

/** Decides the container's cgroups (paths, directories, controllers) without touching the host. */
export function planCgroup(spec: CgroupSpec, fsRoot?: string): CgroupPlan {
  if (spec.manager === 'disabled') return { spec, paths: {}, rules: undefined, ruleWarnings: [], needed: [], fallback: [], v2Enable: [], planned: { ...DISABLED, paths: {}, created: [] } };
  const systemd = usesSystemd(spec) ? systemdUnit(spec.cgroupsPath, spec.id, spec.rootless) : undefined;
  if (systemd) spec = { ...spec, cgroupsPath: systemd.cgroupPath };
  const layout = hostLayout(fsRoot);
  const r = spec.resources ?? {};
  const ruleWarnings: string[] = [];
  const rules = containerDeviceRules(layout, spec, (m) => ruleWarnings.push(m));
  unified.validateKeys(r.unified);
  if (layout.mode === 'v1' && r.unified && Object.keys(r.unified).length) throw new TsrunError('invalid configuration: cannot use unified on cgroup v1 (linux.resources.unified requires cgroup v2, but this host has only cgroup v1 hierarchies)');
  const paths = resolvePaths(layout, spec.cgroupsPath, spec.id);
  const needed = layout.mode === 'v2' ? [] : neededControllers(r, rules);
  // Hybrid: controllers missing on v1 but offered by the cgroup2 hierarchy.
  const fallback: string[] = [];
  const v2Enable: string[] = [];
  if (layout.mode === 'hybrid' && layout.unified) {
    const avail = available(layout.unified.mountPoint);
    for (const c of needed) {
      if (paths[c]) continue;
      const n = V2_NAME[c];
      if (n && avail.has(n)) {
        fallback.push(c);
        if (!v2Enable.includes(n)) v2Enable.push(n);
      }
    }
    for (const k of Object.keys(r.unified ?? {})) {
      const c = unified.keyController(k);
      if (!c) continue;
      if (!avail.has(c)) {
        const onV1 = layout.v1.find((h) => h.controllers.includes(c));
        const why = onV1 ? `it is on the cgroup v1 hierarchy ${onV1.mountPoint}` : 'it is neither on a v1 hierarchy nor enabled there';
        // runc's words first (ErrV1NoUnified): callers and runc's suite match on them.
        throw new TsrunError(`invalid configuration: cannot use unified on cgroup v1: linux.resources.unified: cannot set ${k}: controller ${c} is not available on the cgroup2 hierarchy ${layout.unified.mountPoint} (hybrid host: ${why})`);
      }
      if (!v2Enable.includes(c)) v2Enable.push(c);
    }
  }
  const base: CgroupRecord = { version: 1, mode: layout.mode, paths: {}, created: [] };
  if (layout.fake) base.fake = true;
  if (systemd) base.systemdUnit = systemd.unit;
  if (fallback.length) base.v2Fallback = fallback;
  if (v2Enable.length) base.v2Controllers = v2Enable;
  return { spec, layout, paths, rules, ruleWarnings, needed, fallback, v2Enable, planned: plannedRecord(layout, paths, base), ...(systemd ? { systemd } : {}) };
}

/**
 * Creates (or joins) the container's cgroups and writes its resources.
 * Throws TsrunError; on failure removes what it created.
 */
export function prepareCgroup(spec: CgroupSpec, fsRoot?: string): CgroupHandle {
  return makeCgroup(planCgroup(spec, fsRoot));
}

/**
 * The writes makeCgroup would make, in order, made by the same code with the
 * writes recorded (fsutil dryRunWrites): mkdir is skipped, reads of a
 * directory not made yet are answered as a new cgroup would.
 */
export function predictCgroupWrites(plan: CgroupPlan): TracedWrite[] {
  return dryRunWrites(() => {
    makeCgroup(plan);
  });
}

/** Executes a plan of planCgroup: the systemd scope, directories, controllers, resources. */
export function makeCgroup(plan: CgroupPlan): CgroupHandle {
  const unit = plan.systemd;
  if (!unit || isDryRun()) return makeDirs(plan);
  if (!systemdRunning()) throw new TsrunError(ERR_NO_SYSTEMD);
  const { spec, layout } = plan;
  if (spec.pid === undefined) throw new TsrunError('systemd cgroup driver: the scope is started with the init in it, but no pid was given');
  // Recorded before the unit exists: a delete after a crash here stops it.
  spec.onPlanned?.({ version: 1, mode: layout!.mode, paths: {}, created: [], systemdUnit: unit.unit });
  startScope(unit, spec.pid, spec.id, spec.resources, plan.rules, layout!.mode === 'v2');
  try {
    return makeDirs(plan);
  } catch (e) {
    try {
      stopScope(unit.unit);
    } catch {
      /* the original error matters */
    }
    throw e;
  }
}

function makeDirs(plan: CgroupPlan): CgroupHandle {
  const { spec, layout, paths, rules, needed, v2Enable } = plan;
  if (!layout) return new Cgroup({ ...DISABLED, paths: {}, created: [] });
  const dry = isDryRun();
  const r = spec.resources ?? {};
  const { planned } = plan;
  const rec: CgroupRecord = { version: 1, mode: planned.mode, paths: {}, created: [] };
  if (planned.fake) rec.fake = true;
  if (planned.systemdUnit) rec.systemdUnit = planned.systemdUnit;
  if (planned.v2Fallback) rec.v2Fallback = planned.v2Fallback;
  if (planned.v2Controllers) rec.v2Controllers = planned.v2Controllers;
  const cg = new Cgroup(rec, layout.fake);
  cg.warnings.push(...plan.ruleWarnings);
  if (spec.onPlanned && !dry) spec.onPlanned(planned);
  /** Controllers this create enabled in a subtree_control (a failure disables them again, deepest first). */
  const enabledHere: { dir: string; ctrl: string }[] = [];
  try {
    for (const h of layout.v1) {
      const key = h.controllers[0];
      const dir = paths[key];
      const limited = h.controllers.some((c) => needed.includes(c));
      try {
        if (!dry) mkdirTracked(dir, rec.created, layout.fake, h.controllers.join(','));
        if (h.controllers.includes('cpuset')) v1cpuset.ensureParents(h.mountPoint, dir);
      } catch (e) {
        const code = (e as TsrunError).context?.errno;
        if (spec.rootless && !limited && code !== undefined) {
          cg.warnings.push(`rootless: skipping cgroup ${h.controllers.join(',')} (${(e as Error).message})`);
          continue;
        }
        throw e;
      }
      for (const c of h.controllers) rec.paths[c] = dir;
    }
    if (layout.unified && paths['']) {
      const dir = paths[''];
      try {
        if (!dry) mkdirTracked(dir, rec.created, layout.fake, '');
        enableControllers(layout.unified.mountPoint, dir, layout.mode === 'v2' ? undefined : v2Enable, enabledHere);
        rec.paths[''] = dir;
      } catch (e) {
        // Hybrid: joining the (controller-less) unified hierarchy is a courtesy unless something has to be written there.
        if (layout.mode === 'v2' || v2Enable.length) throw e;
        cg.warnings.push(`not joining the cgroup2 hierarchy: ${(e as Error).message}`);
      }
    }
    // systemd's scope already holds the init: not someone else's cgroup being joined.
    const busy = dry || plan.systemd ? 0 : processesInJoined(rec);
    if (busy > 0) cg.warnings.push(`container's cgroup is not empty: ${busy} process(es) found`);
    applyResources(rec, r, rules, { update: false, warn: (m) => cg.warnings.push(m) });
  } catch (e) {
    if (dry) throw e;
    try {
      cg.destroy();
    } catch {
      /* best effort; the original error matters */
    }
    // e.g. hugetlb enabled in a hybrid host's cgroup2 root for a page size that then turned out absent.
    for (const { dir, ctrl } of enabledHere.reverse()) {
      try {
        cgWrite(ctrl, dir, 'cgroup.subtree_control', `-${ctrl}`);
      } catch {
        /* still used below by another cgroup */
      }
    }
    throw e;
  }
  return cg;
}

/**
 * runc warns when a container joins a cgroup that already holds processes:
 * the most processes found in one pre-existing cgroup (its sub-cgroups
 * included), 0 when every cgroup was made here. Only cgroups that existed
 * are read, so a fresh create pays nothing.
 */
function processesInJoined(rec: CgroupRecord): number {
  let most = 0;
  const count = (dir: string): number => {
    let n = (cgReadOpt(dir, 'cgroup.procs') ?? '').split('\n').filter((l) => l.trim() !== '').length;
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      /* raced with removal */
    }
    for (const e of entries) if (e.isDirectory()) n += count(path.join(dir, e.name));
    return n;
  };
  for (const dir of new Set(Object.values(rec.paths))) {
    if (rec.created.includes(dir)) continue;
    most = Math.max(most, count(dir));
  }
  return most;
}

/** Re-opens a container's cgroups from its state record (pause, resume, update, events, ps, kill, delete). */
export function openCgroup(record: CgroupRecord | undefined): OpenCgroup {
  if (!record || typeof record !== 'object' || record.version !== 1) return new Cgroup({ ...DISABLED, paths: {}, created: [] });
  return new Cgroup(record, record.fake === true);
}
