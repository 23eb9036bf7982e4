/**
 * THE order in which a container's process enters its namespaces, for
 * `create` and for `exec` (ARCHITECTURE.md "create/exec, step by step").
 * Nothing else decides it: build.ts and exec-plan.ts take their first steps
 * from here, create.ts/exec.ts hand `cloneFlags` and `bootstrap` to the addon.
 *
 * Rules (kernel facts, runc's nsexec.c order):
 *  - a namespace is owned by the user namespace its creator is in: create the
 *    user namespace first and the others after it, in it;
 *  - joining a namespace owned by the host's user namespace needs
 *    CAP_SYS_ADMIN there: join every existing namespace BEFORE creating a
 *    user namespace (joining one: join it first, it owns the rest);
 *  - setns/unshare of a pid namespace change only pid_for_children: the next
 *    fork is the first process of ours visible in it. It comes last, once the
 *    process is in the container's mount namespace (root and cwd there),
 *    non-dumpable and holding no host fd but those it passes on.
 *
 * Two shapes:
 *  - fast: nothing joined (create only). One clone with every new
 *    namespace's flag (the kernel makes the user namespace first, the rest
 *    owned by it); the new pid namespace is empty, so nothing can see the
 *    process before its plan runs.
 *  - staged: a MSG_BOOTSTRAP plan run by an "intermediate" helper cloned in
 *    the host's namespaces: join cgroups → connect host sockets → join
 *    (user first, mnt last) → create the user namespace (the parent writes
 *    the maps) → unshare the rest → enter the pid namespace → fork. The
 *    intermediate reports the child's pid and exits; the child runs the plan.
 *  - staged, pid namespace joined by path ("late pid"): a joined pid
 *    namespace is not empty, so its members would see the child while it
 *    still holds the host's root. The bootstrap stops before the pid
 *    namespace; the intermediate also runs the plan's rootfs phase (binds,
 *    mounts, devices, pivot_root/chroot), and only then `enterPid` (setns pid
 *    + fork), which build.ts places right after the root switch. The child
 *    mounts procfs (it shows the mounter's pid namespace) and does the rest.
 *    Steps that need the container's pid before pivot_root (prestart,
 *    createRuntime and createContainer hooks, a seccomp agent's state, binds
 *    under a procfs mount) keep runc's order: pidJoinEarlyReason says why.
 */
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Linux, Mount, Namespace, Spec } from '../config/types';
import { Op, type PlanStep } from './ops';
import { SETNS_ORDER, step } from './process-steps';
import { timensStep } from './process-extras';

export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const NS_CLONE_FLAG: Record<Namespace['type'], number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** setns/unshare type names of the helper (addon/init/namespaces.c). */
const NS_NAME: Record<Namespace['type'], string> = Object.fromEntries(SETNS_ORDER) as Record<Namespace['type'], string>;
NS_NAME.pid = 'pid';

/** The named stages, in the only order they may happen. */
export type Stage =
  | 'clone' // the addon clones the helper (fast: with every new namespace's flag)
  | 'join-cgroups' // v1 "tasks" ← "0" while the host's cgroup mounts are visible (cgroup2: born there)
  | 'connect' // sockets by host path (the seccomp agent's) before any join hides them
  | 'open-pid' // late pid: open the pid namespace's host path before any join or root switch hides it
  | 'join-user' // setns user (path)
  | 'join' // setns of every other namespace given by path, mnt last
  | 'join-pidfd' // exec: setns(pidfd, mask), every namespace of the container's init at once
  | 'create-user' // unshare user; the parent writes the maps; uid/gid 0 there
  | 'unshare' // the other new namespaces (owned by the user namespace of the moment)
  | 'enter-pid' // setns pid (path): pid_for_children only
  | 'fork' // the first process in the pid namespace; the intermediate exits
  | 'cgroup-ns' // unshare cgroup, once in the container's cgroups (plan proper)
  | 'time-ns' // unshare time + offsets; the final execve enters it (plan proper)
  | 'rootfs'; // late pid: the intermediate's binds, mounts, devices and pivot_root, before enter-pid

export interface NsSequence {
  /** Flags of the addon's clone (never CLONE_NEWTIME, never CLONE_NEWCGROUP). */
  cloneFlags: number;
  /** Run by the intermediate (MSG_BOOTSTRAP); empty on the fast path. */
  bootstrap: PlanStep[];
  /** The first steps of the plan proper. */
  head: PlanStep[];
  /**
   * Late pid (a pid namespace joined by path): setns pid + OP_FORK, placed by
   * build.ts right after the root switch; empty otherwise.
   */
  enterPid: PlanStep[];
  /** Whether a new user namespace is made (the addon then needs the maps). */
  newUserns: boolean;
  /** The stages in order, for tests and --debug. */
  stages: Stage[];
}

/** Optional steps whose place the sequence decides. */
export interface SequenceExtras {
  /** Steps that must come before anything else (exec: execCPUAffinity.initial). */
  first?: readonly PlanStep[];
  /** cgroup v1 "tasks" files the helper writes "0" to. */
  joinCgroups?: readonly string[];
  /** OP_SECCOMP_LISTENER: connects by host path. */
  listener?: PlanStep;
  /** pidJoinEarlyReason: a joined pid namespace is entered before the rootfs work (runc's order). */
  pidEarly?: string;
}

/**
 * Why a pid namespace joined by path must be entered before the rootfs phase
 * (runc's order, with the exposure that brings), or undefined when it can be
 * entered after pivot_root. `seccompNotify`: the agent gets the container's
 * host pid in OP_SECCOMP's state, fixed before the plan is sent. `noPivot`: --no-pivot.
 */
export function pidJoinEarlyReason(config: Pick<Spec, 'hooks' | 'mounts' | 'linux'>, seccompNotify: boolean, noPivot = false): string | undefined {
  const nss = config.linux?.namespaces ?? [];
  if (!nss.some((n) => n.type === 'pid' && n.path)) return undefined;
  // In a user namespace a new procfs needs a fully visible one in the mount namespace; --no-pivot
  // detaches the host's before the move (and keeps no old root to stack, as pivot_root does).
  if (noPivot && nss.some((n) => n.type === 'user') && nss.some((n) => n.type === 'mount')) {
    return '--no-pivot in a user namespace leaves no procfs the kernel would let the process mount one next to';
  }
  const h = config.hooks ?? {};
  const hooks = (['prestart', 'createRuntime', 'createContainer'] as const).filter((k) => (h[k]?.length ?? 0) > 0);
  if (hooks.length > 0) return `${hooks.join('/')} hooks need the container's pid before pivot_root`;
  if (seccompNotify) return "the seccomp agent's state needs the container's pid before the plan is sent";
  const procDests = (config.mounts ?? []).filter((m) => m.type === 'proc').map((m) => normalizeDest(m.destination));
  const bindUnder = (config.mounts ?? []).find(
    (m) => isBindMount(m) && procDests.some((d) => isUnder(normalizeDest(m.destination), d)),
  );
  if (bindUnder) return `the bind mount onto ${bindUnder.destination} needs its host source after procfs is mounted`;
  return undefined;
}

/** The message create logs when pidJoinEarlyReason applies. */
export function pidJoinEarlyWarning(reason: string): string {
  return `linux.namespaces: pid namespace joined by path: ${reason}, so the process enters it before pivot_root (runc's order); until then that namespace's processes with CAP_SYS_PTRACE can reach the host's root through it`;
}

export function normalizeDest(dest: string): string {
  return path.posix.normalize(path.posix.isAbsolute(dest) ? dest : `/${dest}`).replace(/(.)\/$/, '$1');
}

export function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

function isBindMount(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** What create's clone looks like, known before anything exists (create decides its cgroup strategy from it). */
export function createCloneTarget(linux: Linux): { cloneFlags: number; staged: boolean; newUserns: boolean; newTimeNs: boolean; newCgroupNs: boolean } {
  const nss = linux.namespaces ?? [];
  const staged = nss.some((n) => !!n.path);
  let fresh = 0;
  for (const ns of nss) if (!ns.path) fresh |= NS_CLONE_FLAG[ns.type];
  const newTimeNs = (fresh & CLONE.NEWTIME) !== 0;
  const newCgroupNs = (fresh & CLONE.NEWCGROUP) !== 0;
  const cloneFlags = staged ? 0 : fresh & ~(CLONE.NEWTIME | CLONE.NEWCGROUP);
  return { cloneFlags, staged, newUserns: (fresh & CLONE.NEWUSER) !== 0, newTimeNs, newCgroupNs };
}

/** The sequence of `create`. */
export function createSequence(linux: Linux, extras: SequenceExtras = {}): NsSequence {
  const nss = linux.namespaces ?? [];
  const target = createCloneTarget(linux);
  const stages: Stage[] = ['clone'];
  const pre: PlanStep[] = [...(extras.first ?? [])];
  for (const tasks of extras.joinCgroups ?? []) pre.push(step(Op.JoinCgroup, tasks));
  if (pre.length > (extras.first?.length ?? 0)) stages.push('join-cgroups');
  if (extras.listener) {
    pre.push(extras.listener);
    stages.push('connect');
  }
  const head: PlanStep[] = [];
  const enterPid: PlanStep[] = [];
  const late: Stage[] = [];
  let bootstrap: PlanStep[] = [];
  if (!target.staged) {
    head.push(...pre);
  } else {
    bootstrap = pre;
    const joins = new Map<Namespace['type'], string>();
    for (const ns of nss) if (ns.path) joins.set(ns.type, ns.path);
    const pidPath = joins.get('pid');
    const latePid = pidPath !== undefined && extras.pidEarly === undefined;
    if (latePid) {
      // Opened while its host path is reachable; joined after the root switch through the fd.
      bootstrap.push(step(Op.Setns, pidPath, 'pid', 'open'));
      stages.push('open-pid');
    }
    const userPath = joins.get('user');
    if (userPath) {
      bootstrap.push(step(Op.Setns, userPath, 'user'));
      stages.push('join-user');
    }
    let joined = false;
    for (const [type, name] of SETNS_ORDER) {
      const p = joins.get(type);
      if (type === 'user' || !p) continue;
      bootstrap.push(step(Op.Setns, p, name));
      joined = true;
    }
    if (joined) stages.push('join');
    if (target.newUserns) {
      bootstrap.push(step(Op.Unshare, 'user'));
      stages.push('create-user');
    }
    const unshared: Namespace['type'][] = ['mount', 'uts', 'ipc', 'network', 'pid'];
    const fresh = unshared.filter((t) => nss.some((n) => n.type === t && !n.path)).map((t) => NS_NAME[t]);
    if (fresh.length > 0) {
      bootstrap.push(step(Op.Unshare, ...fresh));
      stages.push('unshare');
    }
    if (latePid) {
      // Late pid: the intermediate pivots first; "wait" makes the child wait until the parent has its pid.
      enterPid.push(step(Op.Setns, '', 'pid'), step(Op.Fork, 'wait'));
      late.push('rootfs', 'enter-pid', 'fork');
    } else {
      if (pidPath) {
        bootstrap.push(step(Op.Setns, pidPath, 'pid'));
        stages.push('enter-pid');
      }
      bootstrap.push(step(Op.Fork));
      stages.push('fork');
    }
  }
  if (target.newCgroupNs) {
    head.push(step(Op.Unshare, 'cgroup'));
    stages.push('cgroup-ns');
  }
  // Unshared by the helper, which writes the offsets before its execve enters it.
  if (target.newTimeNs) {
    head.push(timensStep(linux));
    stages.push('time-ns');
  } else if (Object.keys(linux.timeOffsets ?? {}).length > 0) {
    throw new TsrunError('linux.timeOffsets: offsets need a new time namespace (a joined one keeps its own)');
  }
  stages.push(...late);
  return { cloneFlags: target.cloneFlags, bootstrap, head, enterPid, newUserns: target.newUserns, stages };
}

/** The fd number at which the helper finds the i-th fd passed by the addon (plan_wire.h). */
export function passedFd(preserveFds: number, index: number): number {
  return 3 + preserveFds + 1 + index;
}

/**
 * The sequence of `exec`: always staged. Every namespace the container has is
 * joined at once through the init's pidfd (`join.pidfd`, a passed fd), then
 * the fork. Without pidfds (kernel < 5.3): one setns per /proc/<pid>/ns file
 * (`join.nsDir`), user first, pid and mnt last.
 */
export function execSequence(types: ReadonlySet<Namespace['type']>, join: { pidfd: number } | { nsDir: string }, extras: SequenceExtras = {}): NsSequence {
  const stages: Stage[] = ['clone'];
  const bootstrap: PlanStep[] = [...(extras.first ?? [])];
  if (extras.joinCgroups?.length) {
    for (const tasks of extras.joinCgroups) bootstrap.push(step(Op.JoinCgroup, tasks));
    stages.push('join-cgroups');
  }
  if (extras.listener) {
    bootstrap.push(extras.listener);
    stages.push('connect');
  }
  if ('pidfd' in join) {
    let mask = 0;
    for (const t of types) mask |= NS_CLONE_FLAG[t];
    if (mask) {
      bootstrap.push(step(Op.SetnsPidfd, join.pidfd, mask));
      stages.push('join-pidfd');
    }
  } else {
    const order: Namespace['type'][] = ['user', 'ipc', 'uts', 'network', 'cgroup', 'time', 'pid', 'mount'];
    for (const t of order) if (types.has(t)) bootstrap.push(step(Op.Setns, `${join.nsDir}/${NS_NAME[t]}`, NS_NAME[t]));
    if (types.has('user')) stages.push('join-user');
    if ([...types].some((t) => t !== 'user' && t !== 'pid')) stages.push('join');
    if (types.has('pid')) stages.push('enter-pid');
  }
  bootstrap.push(step(Op.Fork));
  stages.push('fork');
  return { cloneFlags: 0, bootstrap, head: [], enterPid: [], newUserns: false, stages };
}
