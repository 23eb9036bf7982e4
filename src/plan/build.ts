/**
 * config.json → the init plan: a flat, fully resolved, ordered list of steps
 * that the sealed C helper executes without making decisions. The order
 * follows runc: namespaces, rootfs propagation, rootfs bind, mounts in config
 * order, devices, exec fifo, pivot_root, hostname, sysctls, read-only and
 * masked paths, read-only root, rlimits, oom_score_adj, cwd, HOME, identity
 * (user + capabilities + no_new_privs), args[0] lookup, READY (block until
 * `start`), execve.
 *
 * Pure: everything it needs from the host comes in through PlanInput, so the
 * whole plan is unit-tested without root.
 */
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Mount, Namespace, Spec } from '../config/types';
import type { CgroupMount } from './host-cgroups';
import { MS, PROPAGATION_OPTIONS, parseMountOptions } from './mount-options';
import { Op, PlanStep } from './ops';
import { consoleSetupStep, execStep, homeStep, identityStep, limitSteps, lookPathStep, step } from './process-steps';
import { createCloneTarget, createSequence, type Stage } from './ns-order';
import type { SeccompPlanSteps } from '../seccomp/plan';
import { createHookSteps, startHookSteps, type HookPlanContext } from './hooks';
import { flagsToAttr } from './mount-options';
import { ioprioStep, lsmSteps, mempolicyStep, personalityStep, schedulerStep, withMountLabel } from './process-extras';

export { CLONE } from './ns-order';

/** The devices every container gets (runtime-linux.md "Default Devices"). */
export const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

export interface PlanInput {
  config: Spec;
  /** Absolute host path of the rootfs. */
  rootfs: string;
  /** Absolute bundle directory (bind sources may be relative to it). */
  bundle: string;
  /** Host path of the exec fifo `start` writes to. */
  fifoPath: string;
  noPivot: boolean;
  preserveFds: number;
  /**
   * process.terminal: the fd at which the helper finds the console socket the parent connected
   * (ns-order.ts passedFd) and the pty size; the pty is set up right after pivot_root and bound
   * onto /dev/console. foreground: tsrun proxies the pty itself (no --console-socket): ONLCR is
   * cleared, as runc.
   */
  console?: { fd: number; rows: number; cols: number; foreground?: boolean };
  /** The host's cgroup mounts and the runtime's own cgroup paths. */
  cgroups: { mounts: CgroupMount[]; self: Map<string, string> };
  /** Whether a host path is a directory (bind mounts of files need a file target). */
  isDirectory: (hostPath: string) => boolean;
  /** linux.seccomp compiled (src/seccomp): where its steps go is decided here. */
  seccomp?: SeccompPlanSteps;
  /** Container id, for the state hooks get on stdin (default ""). */
  id?: string;
  /** Host path of the status fifo (when startContainer/poststart hooks need `start` to wait). */
  statusFifoPath?: string;
  /** cgroup v1 "tasks" files the init writes "0" to, first of all (cgroups/dirs.ts selfJoinTargets). */
  joinCgroups?: readonly string[];
}

export interface InitPlan {
  /** How the addon clones the helper, and the staged entry it drives (ns-order.ts). */
  cloneFlags: number;
  bootstrap: PlanStep[];
  stages: Stage[];
  steps: PlanStep[];
}

/**
 * How the init is cloned (ns-order.ts): known before the plan; create decides
 * from it how the init joins its cgroups.
 */
export function initCloneTarget(linux: NonNullable<Spec['linux']>): ReturnType<typeof createCloneTarget> {
  return createCloneTarget(linux);
}

export function buildPlan(input: PlanInput): InitPlan {
  const { config } = input;
  const linux = config.linux ?? {};
  const proc = config.process;
  if (!proc) throw new TsrunError('config.json has no "process" to run');
  const steps: PlanStep[] = [];
  // The namespace sequence (ns-order.ts): cgroups joined and host sockets connected first, then
  // the namespaces; the staged part (joins) runs before the plan, in the addon's bootstrap.
  const seq = createSequence(linux, { joinCgroups: input.joinCgroups, listener: input.seccomp?.listener });
  steps.push(...seq.head);
  if (input.console) steps.push(step(Op.ConsoleConnect, input.console.fd));
  const has = (t: Namespace['type']) => (linux.namespaces ?? []).some((n) => n.type === t);

  // Rootfs.
  // runc's default: rslave, so host mounts made later still reach the container, and none flow back.
  const rootProp = linux.rootfsPropagation ? PROPAGATION_OPTIONS[linux.rootfsPropagation] : MS.SLAVE | MS.REC;
  if (rootProp === undefined) throw new TsrunError(`linux.rootfsPropagation: unknown propagation "${linux.rootfsPropagation}"`);
  // pivot_root refuses shared mounts, and an unbindable "/" cannot be the source of the rootfs
  // bind: either is applied to the new root after the pivot.
  const afterPivot = (rootProp & (MS.SHARED | MS.UNBINDABLE)) !== 0;
  steps.push(step(Op.RootPropagation, afterPivot ? MS.SLAVE | MS.REC : rootProp));
  steps.push(step(Op.BindRootfs, input.rootfs));

  // Mounts, in config order.
  const mounts = config.mounts ?? [];
  mounts.forEach((m, i) => steps.push(...mountSteps(m, `mounts[${i}]`, input)));

  // /dev: default devices and links, unless the host's /dev is bind-mounted.
  const devIsBind = mounts.some((m) => normalizeDest(m.destination) === '/dev' && isBind(m));
  if (!devIsBind) {
    const explicit = new Set((linux.devices ?? []).map((d) => d.path));
    for (const d of DEFAULT_DEVICES) {
      if (!explicit.has(d.path)) steps.push(step(Op.Mknod, d.path, 'c', d.major, d.minor, 0o666, 0, 0, d.path));
    }
    for (const [target, link] of [
      ['/proc/self/fd', '/dev/fd'],
      ['/proc/self/fd/0', '/dev/stdin'],
      ['/proc/self/fd/1', '/dev/stdout'],
      ['/proc/self/fd/2', '/dev/stderr'],
    ]) {
      steps.push(step(Op.Symlink, target, link));
    }
    if (mounts.some((m) => normalizeDest(m.destination) === '/dev/pts')) steps.push(step(Op.Symlink, 'pts/ptmx', '/dev/ptmx'));
  }
  for (const [i, d] of (linux.devices ?? []).entries()) {
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
      throw new TsrunError(`linux.devices[${i}]: major and minor are required for type "${d.type}"`);
    }
    steps.push(step(Op.Mknod, d.path, d.type, d.major ?? 0, d.minor ?? 0, (d.fileMode ?? 0o666) & 0o7777, d.uid ?? 0, d.gid ?? 0, d.path));
  }

  // Hooks before pivot_root: prestart/createRuntime (pause), createContainer (plan/hooks.ts).
  const hookCtx: HookPlanContext = {
    hooks: config.hooks,
    ociVersion: config.ociVersion,
    id: input.id ?? '',
    bundle: input.bundle,
    annotations: config.annotations,
    statusFifoPath: input.statusFifoPath,
  };
  steps.push(...createHookSteps(hookCtx));

  steps.push(step(Op.OpenFifo, input.fifoPath));
  steps.push(step(input.noPivot ? Op.MoveRoot : Op.PivotRoot));
  if (afterPivot) steps.push(step(Op.RootPropagation, rootProp));
  if (input.console) steps.push(consoleSetupStep(input.console, true));
  // As runc's finalizeRootfs: read-only tmpfs and /dev mounts were made writable (mount points,
  // devices, links and /dev/console still had to be made in them); they become read-only now.
  for (const m of mounts) if (readonlyLater(m)) steps.push(step(Op.RootReadonly, normalizeDest(m.destination)));

  if (config.hostname !== undefined && config.hostname !== '') steps.push(step(Op.Hostname, config.hostname));
  if (config.domainname !== undefined && config.domainname !== '') steps.push(step(Op.Domainname, config.domainname));
  // Sysctls before readonlyPaths, which usually include /proc/sys.
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    steps.push(step(Op.Sysctl, key.replace(/\./g, '/'), value));
  }
  for (const p of linux.readonlyPaths ?? []) steps.push(step(Op.ReadonlyPath, p));
  for (const p of linux.maskedPaths ?? []) steps.push(step(Op.MaskPath, p));
  if (config.root?.readonly) steps.push(step(Op.RootReadonly));

  steps.push(...limitSteps(proc));
  // runc's order: personality, scheduler, I/O priority and exec labels before the identity drops privileges.
  for (const s of [personalityStep(linux), schedulerStep(proc), ioprioStep(proc), mempolicyStep(linux), ...lsmSteps(proc)]) {
    if (s) steps.push(s);
  }

  steps.push(step(Op.Chdir, proc.cwd));
  // Without no_new_privs seccomp needs CAP_SYS_ADMIN: load it before the identity drops it (runc).
  // HOME first: the container's /etc/passwd is read before any filter can refuse the open.
  const home = homeStep(proc);
  if (home) steps.push(home);
  if (input.seccomp && !input.seccomp.atExec) steps.push(input.seccomp.load);
  steps.push(identityStep(proc));
  // runc's order: args[0] is looked up as the process's user, in its cwd, after every mount and
  // before READY, so that a missing command fails create (not start).
  steps.push(lookPathStep(proc, 'exec'));
  steps.push(step(Op.Ready));
  // With no_new_privs the helper defers this load to right before execve, or to the
  // first startContainer hook: runc's hooks run under the filter.
  if (input.seccomp?.atExec) steps.push(input.seccomp.load);
  steps.push(...startHookSteps(hookCtx));
  steps.push(execStep(input.preserveFds, proc));

  const plan = { cloneFlags: seq.cloneFlags, bootstrap: seq.bootstrap, stages: seq.stages, steps };
  if (!has('mount')) plan.steps = inCallersMountNs(steps, linux, input.rootfs);
  return plan;
}

/**
 * The steps that make sense in the caller's mount namespace. Without
 * CLONE_NEWNS runc runs the process there and chroots into the rootfs, but
 * first makes the host's / rslave, binds the rootfs and does every mount in
 * the host's mount table, and never undoes them (they outlive the
 * container). tsrun only chroots: no rootfs bind, mounts, devices or
 * read-only root (a warning says so, config/semantic.ts). Steps are kept by
 * an allow-list, so no step that changes a mount tree can reach the host's.
 */
const CALLERS_MNTNS_OPS: ReadonlySet<Op> = new Set([
  Op.JoinCgroup, Op.ConsoleConnect, Op.SeccompListener, Op.Setns, Op.Unshare, Op.Timens,
  Op.RuntimeHooks, Op.Hook, Op.OpenStatusFifo, Op.OpenFifo, Op.ConsoleSetup,
  Op.Hostname, Op.Domainname, Op.Sysctl, Op.Rlimit, Op.OomScoreAdj,
  Op.Personality, Op.Scheduler, Op.Ioprio, Op.Mempolicy, Op.CpuAffinity, Op.LsmExecLabel,
  Op.Chdir, Op.Seccomp, Op.Home, Op.Identity, Op.LookPath, Op.Ready, Op.Exec, Op.Chroot,
]);

function inCallersMountNs(steps: PlanStep[], linux: NonNullable<Spec['linux']>, rootfs: string): PlanStep[] {
  if ((linux.readonlyPaths ?? []).length > 0 || (linux.maskedPaths ?? []).length > 0) {
    throw new TsrunError('unable to restrict sys entries without a private MNT namespace'); // runc's wording
  }
  const out = steps
    .map((s) => (s.op === Op.PivotRoot || s.op === Op.MoveRoot ? step(Op.Chroot, rootfs) : s))
    .filter((s) => CALLERS_MNTNS_OPS.has(s.op))
    // The pty is never bound onto the host's /dev/console.
    .map((s) => (s.op === Op.ConsoleSetup ? { ...s, fields: [...s.fields.slice(0, 2), '0', ...s.fields.slice(3)] } : s));
  // The pty comes from the caller's /dev/ptmx: the rootfs has no devpts mounted.
  const con = out.findIndex((s) => s.op === Op.ConsoleSetup);
  const root = out.findIndex((s) => s.op === Op.Chroot);
  if (con > root && root >= 0) out.splice(root, 0, ...out.splice(con, 1));
  return out;
}

function isBind(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** A read-only tmpfs or /dev mount is made writable and remounted read-only after the console (runc). */
function readonlyLater(m: Mount, flags = parseMountOptions(m.options, 'mount').flags): boolean {
  if (isBind(m) || m.type === 'cgroup' || (m.type !== 'tmpfs' && normalizeDest(m.destination) !== '/dev')) return false;
  return (flags & MS.RDONLY) !== 0;
}

function normalizeDest(dest: string): string {
  return path.posix.normalize(path.posix.isAbsolute(dest) ? dest : `/${dest}`).replace(/(.)\/$/, '$1');
}

function mountSteps(m: Mount, where: string, input: PlanInput): PlanStep[] {
  const dest = normalizeDest(m.destination);
  if (dest === '/') throw new TsrunError(`${where}.destination: mounting over / is not allowed`);
  const opts = parseMountOptions(m.options, where);
  const propagation = opts.propagation.reduce((a, b) => a | b, 0);

  if (isBind(m)) {
    if (!m.source) throw new TsrunError(`${where}: bind mount needs a source`);
    const source = path.isAbsolute(m.source) ? m.source : path.join(input.bundle, m.source);
    const kind = input.isDirectory(source) ? 'dir' : 'file';
    if (opts.idmap) return idmapSteps(m, where, source, dest, kind, opts, propagation, input);
    return [step(Op.Mount, source, dest, '', opts.flags | MS.BIND, opts.data, propagation, kind), ...setattrSteps(dest, opts)];
  }
  if (opts.idmap) throw new TsrunError(`${where}: "${opts.idmap}" is only supported on bind mounts`);
  if (m.uidMappings || m.gidMappings) throw new TsrunError(`${where}: uidMappings/gidMappings need the "idmap" or "ridmap" option`);
  if (m.type === 'cgroup') return cgroupSteps(dest, opts.flags, input);
  if (!m.type) throw new TsrunError(`${where}: mount type is required for non-bind mounts`);
  const data = withMountLabel(opts.data, input.config.linux?.mountLabel);
  if (opts.copyUp && m.type !== 'tmpfs') throw new TsrunError(`${where}: "tmpcopyup" is only supported on tmpfs mounts`);
  const copyUp = opts.copyUp ? ['copyup'] : [];
  const flags = readonlyLater(m, opts.flags) ? opts.flags & ~MS.RDONLY : opts.flags;
  return [step(Op.Mount, m.source ?? m.type, dest, m.type, flags, data, propagation, 'dir', ...copyUp), ...setattrSteps(dest, opts)];
}

/** The recursive r* options: one mount_setattr(AT_RECURSIVE) after the mount. */
function setattrSteps(dest: string, opts: ReturnType<typeof parseMountOptions>): PlanStep[] {
  if (!opts.attrSet && !opts.attrClr) return [];
  return [step(Op.MountSetattr, dest, opts.attrSet, opts.attrClr, 0, 1)];
}

/** "c h s" lines for /proc/<pid>/{uid,gid}_map. */
export function mapText(maps: readonly { containerID: number; hostID: number; size: number }[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * idmap / ridmap bind mounts (config.md "Linux mount options"): the mount's own
 * mappings, else the container's user namespace mappings, else an error.
 */
function idmapSteps(
  m: Mount, where: string, source: string, dest: string, kind: string,
  opts: ReturnType<typeof parseMountOptions>, propagation: number, input: PlanInput,
): PlanStep[] {
  const linux = input.config.linux ?? {};
  if (!m.uidMappings !== !m.gidMappings) throw new TsrunError(`${where}: uidMappings and gidMappings must be given together`);
  const userns = (linux.namespaces ?? []).some((n) => n.type === 'user');
  const uids = m.uidMappings ?? (userns ? linux.uidMappings : undefined);
  const gids = m.gidMappings ?? (userns ? linux.gidMappings : undefined);
  if (!uids?.length || !gids?.length) {
    throw new TsrunError(`${where}: "${opts.idmap}" needs uidMappings and gidMappings (on the mount, or a user namespace with mappings)`);
  }
  const tree = (opts.flags & MS.REC) !== 0;
  const { set, clr } = flagsToAttr(opts.flags);
  if (userns) {
    // MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN in the user namespace owning the source's
    // filesystem (the host's), and the helper is already inside the container's. As runc 1.2:
    // the parent clones the source with open_tree, idmaps it with the container's user
    // namespace and passes the fd over the sync socket (MSG_MOUNT_FD, src/lifecycle/mount-fds.ts);
    // OP_MOUNT_TREE_FD attaches it. Mappings of the mount's own that differ from the container's
    // (runc 1.2 too): the parent idmaps with a temporary user namespace holding exactly those
    // ("containerID hostID size" as a uid_map: on-disk containerID shows as host id hostID, which
    // the container's user namespace then maps as for any other host id).
    const own = (m.uidMappings && !sameMaps(m.uidMappings, linux.uidMappings)) || (m.gidMappings && !sameMaps(m.gidMappings, linux.gidMappings));
    const joined = (linux.namespaces ?? []).find((n) => n.type === 'user')?.path ?? '';
    const out = [step(Op.MountTreeFd, dest, kind, source, tree ? 1 : 0, opts.idmap === 'ridmap' ? 1 : 0, joined, own ? mapText(uids) : '', own ? mapText(gids) : '')];
    if (set || clr) out.push(step(Op.MountSetattr, dest, set, clr, 0, tree ? 1 : 0));
    out.push(...setattrSteps(dest, opts));
    if (propagation) out.push(step(Op.MountSetattr, dest, 0, 0, propagation & ~MS.REC, propagation & MS.REC ? 1 : 0));
    return out;
  }
  const out = [step(Op.MountIdmap, source, dest, kind, tree ? 1 : 0, opts.idmap === 'ridmap' ? 1 : 0, mapText(uids), mapText(gids), set, clr)];
  out.push(...setattrSteps(dest, opts));
  if (propagation) out.push(step(Op.MountSetattr, dest, 0, 0, propagation & ~MS.REC, propagation & MS.REC ? 1 : 0));
  return out;
}

function sameMaps(a: readonly { containerID: number; hostID: number; size: number }[], b?: readonly { containerID: number; hostID: number; size: number }[]): boolean {
  return !!b && mapText(a) === mapText(b);
}

/**
 * A "cgroup" mount. On a pure v2 host: cgroup2. On v1 or hybrid hosts (as
 * runc does): a tmpfs with each host hierarchy's own cgroup bind-mounted
 * under it, read-only when asked, then the tmpfs itself remounted.
 */
function cgroupSteps(dest: string, flags: number, input: PlanInput): PlanStep[] {
  const { mounts, self } = input.cgroups;
  const v1 = mounts.filter((c) => c.fsType === 'cgroup');
  if (v1.length === 0) return [step(Op.Mount, 'cgroup2', dest, 'cgroup2', flags, '', 0, 'dir')];
  const bindFlags = MS.BIND | MS.REC | (flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC));
  const out = [step(Op.Mount, 'tmpfs', dest, 'tmpfs', flags & ~MS.RDONLY, 'mode=755', 0, 'dir')];
  for (const c of mounts) {
    const key = c.fsType === 'cgroup2' ? '' : c.controllers[0];
    const own = self.get(key) ?? '/';
    const rel = path.posix.relative(c.root, own);
    if (rel.startsWith('..')) continue; // our cgroup is not visible in this mount
    const name = path.posix.basename(c.mountPoint);
    out.push(step(Op.Mount, path.posix.join(c.mountPoint, rel), path.posix.join(dest, name), '', bindFlags, '', 0, 'dir'));
  }
  if (flags & MS.RDONLY) out.push(step(Op.Mount, '', dest, '', MS.REMOUNT | flags, 'mode=755', 0, 'dir'));
  return out;
}
