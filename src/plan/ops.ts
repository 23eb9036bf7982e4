/**
 * Operation codes of the init plan. Mirrors addon/common/plan_wire.h, which
 * documents each op's fields; keep the two in sync.
 */
export const enum Msg {
  Plan = 1,
  Ready = 2,
  Error = 3,
  /** helper → parent: run the prestart/createRuntime hooks now (ops 50-59). */
  Hooks = 4,
  /** parent → helper: they succeeded. */
  HooksDone = 5,
  /** parent → helper, right after the plan: one idmapped mount tree fd (SCM_RIGHTS) per OP_MOUNT_TREE_FD. */
  MountFd = 6,
  /** parent → helper: the container is recorded; the helper may wait on the exec fifo (EOF before it: exit). */
  Commit = 7,
  /** parent → helper, first: the namespace stages, ending in OP_FORK (src/plan/ns-order.ts). */
  Bootstrap = 8,
  /** helper → parent: the user namespace exists, write its maps. */
  UsernsMaps = 9,
  /** parent → helper: one byte, 'm' (mapped) or 'n'. */
  UsernsMapped = 10,
  /** helper → parent: u32 host pid of the process OP_FORK made; the intermediate exits. */
  ChildPid = 11,
  /** parent → helper: the pid of an OP_FORK "wait" child is known (pidfd opened); go on. */
  ChildGo = 12,
}

export const enum Op {
  /** 60-79: the rest of the process and linux fields (src/plan/process-extras.ts). */
  Timens = 60,
  Personality = 61,
  Scheduler = 62,
  Ioprio = 63,
  Mempolicy = 64,
  CpuAffinity = 65,
  LsmExecLabel = 66,
  /** 80-89: no mount namespace. */
  Chroot = 80,
  Setns = 1,
  RootPropagation = 2,
  BindRootfs = 3,
  Mount = 4,
  Mknod = 5,
  Symlink = 6,
  PivotRoot = 7,
  MoveRoot = 8,
  MaskPath = 9,
  ReadonlyPath = 10,
  RootReadonly = 11,
  Hostname = 12,
  Domainname = 13,
  Sysctl = 14,
  Rlimit = 15,
  OomScoreAdj = 16,
  OpenFifo = 17,
  Identity = 18,
  Chdir = 19,
  Ready = 20,
  Exec = 21,
  Seccomp = 22,
  Unshare = 23,
  /** Write "0" to a cgroup v1 "tasks" file: the init joins that hierarchy itself (first in the plan). */
  JoinCgroup = 24,
  /** setns(pidfd, mask): every namespace of a live process at once (exec). */
  SetnsPidfd = 25,
  /** The last op of a bootstrap: clone(CLONE_PARENT) into the pid namespace entered before. */
  Fork = 26,
  /** 30-39: seccomp (src/seccomp/plan.ts). */
  SeccompListener = 30,
  /** Terminals (plan_wire.h): adopt the console socket the parent connected (an fd), set the pty up after pivot/setns. */
  ConsoleConnect = 40,
  ConsoleSetup = 41,
  RuntimeHooks = 50,
  Hook = 51,
  OpenStatusFifo = 52,
  MountSetattr = 53,
  MountIdmap = 54,
  /** Attach a mount tree fd prepared by the parent (idmap in a user namespace). */
  MountTreeFd = 55,
  /** 90-99: args[0] looked up and HOME read inside the container, as runc's init (process-steps.ts). */
  LookPath = 90,
  Home = 91,
}

/** One step of the plan: an op code and its fields, in wire order. */
export interface PlanStep {
  op: Op;
  fields: (string | Buffer)[];
}
