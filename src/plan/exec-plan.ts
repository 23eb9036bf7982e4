/**
 * The plan of `tsrun exec`: join every namespace of a running container and
 * run one more process in it, as runc's setns init does. No new namespace,
 * no mount, no fifo. The joins are the bootstrap (ns-order.ts execSequence):
 * cgroups, then setns(pidfd of the init, every namespace at once), then the
 * fork into the pid namespace; the plan proper holds the process attributes,
 * OP_CHDIR, OP_HOME, OP_IDENTITY, OP_LOOKPATH and OP_EXEC. Without OP_READY
 * the helper reports an error as MSG_ERROR and success as EOF (plan_wire.h).
 *
 * setns(mnt) sets the helper's root and cwd to the root of the container's
 * mount namespace: after pivot_root that is the container's root; after
 * --no-pivot's MS_MOVE the kernel follows the mount stacked on the namespace
 * root, i.e. the moved rootfs. So no chroot is needed (runc's nsexec does none).
 *
 * Pure, like build.ts: unit-tested without root.
 */
import type { Process, Spec } from '../config/types';
import { Op, type PlanStep } from './ops';
import { consoleSetupStep, execStep, homeStep, identityStep, limitSteps, lookPathStep, step } from './process-steps';
import { execSequence, type Stage } from './ns-order';
import type { SeccompPlanSteps } from '../seccomp/plan';
import { execAffinitySteps, ioprioStep, lsmSteps, schedulerStep } from './process-extras';

export interface ExecPlanInput {
  /** The container's config (saved at create). */
  config: Spec;
  /** The process to run (process.json, or the config's process with the flags applied). */
  proc: Process;
  /**
   * Whose namespaces are joined: the fd (ns-order.ts passedFd) at which the helper finds the
   * init's pidfd, or (no pidfds) the init's /proc/<pid>/ns directory.
   */
  join: { pidfd: number } | { nsDir: string };
  /** fds 3 .. 3+preserveFds-1 are passed on. */
  preserveFds: number;
  /** process.terminal: the passed fd of the connected console socket + pty size (no /dev/console bind for exec, as runc). */
  console?: { fd: number; rows: number; cols: number; foreground?: boolean };
  /** No mount namespace: the init's root (/proc/<pid>/root), which the process chroots into. */
  chrootTo?: string;
  /** The container's linux.seccomp, compiled (src/seccomp: prepareSeccomp / seccompPlanSteps). */
  seccomp?: SeccompPlanSteps;
  /** cgroup v1 "tasks" files the helper writes "0" to, before any setns (lifecycle/exec.ts). */
  joinCgroups?: readonly string[];
}

export interface ExecPlan {
  bootstrap: PlanStep[];
  stages: Stage[];
  steps: PlanStep[];
}

export function buildExecPlan(input: ExecPlanInput): ExecPlan {
  const { config, proc } = input;
  const types = new Set((config.linux?.namespaces ?? []).map((n) => n.type));
  // process.execCPUAffinity: "initial" from the start (before the v1 cgroup moves), "final" just before execve.
  const affinity = execAffinitySteps(proc);
  const seq = execSequence(types, input.join, {
    first: affinity.initial ? [affinity.initial] : [],
    joinCgroups: input.joinCgroups,
    listener: input.seccomp?.listener,
  });
  const steps: PlanStep[] = [...seq.head];
  if (input.console) {
    steps.push(step(Op.ConsoleConnect, input.console.fd));
    steps.push(consoleSetupStep(input.console, false));
  }
  // No mount namespace: the init chrooted into the rootfs (plan/build.ts), so the process does too.
  if (!types.has('mount') && input.chrootTo) steps.push(step(Op.Chroot, input.chrootTo));

  steps.push(...limitSteps(proc));
  const sched = schedulerStep(proc);
  if (sched) steps.push(sched);
  const ioprio = ioprioStep(proc);
  if (ioprio) steps.push(ioprio);
  steps.push(...lsmSteps(proc));

  steps.push(step(Op.Chdir, proc.cwd));
  // Without no_new_privs seccomp needs CAP_SYS_ADMIN: load it before the identity (runc).
  // HOME first: the container's /etc/passwd is read before any filter can refuse the open.
  const home = homeStep(proc);
  if (home) steps.push(home);
  if (input.seccomp && !input.seccomp.atExec) steps.push(input.seccomp.load);
  steps.push(identityStep(proc));
  // As runc's setns init: args[0] looked up in the container, as the process's user, in its cwd.
  steps.push(lookPathStep(proc, 'eaccess'));
  if (affinity.final) steps.push(affinity.final);
  // With no_new_privs the helper defers this load to right before execve.
  if (input.seccomp?.atExec) steps.push(input.seccomp.load);
  steps.push(execStep(input.preserveFds, proc));
  return { bootstrap: seq.bootstrap, stages: seq.stages, steps };
}
