/**
 * The plan of `tsrun exec`: join every namespace of a running container and
 * run one more process in it, as runc's setns init does. No new namespace,
 * no mount, no fifo: OP_SETNS (user first, mnt last), then the process
 * attributes, OP_CHDIR, OP_HOME, OP_IDENTITY, OP_LOOKPATH and OP_EXEC. Without OP_READY the helper
 * reports an error as MSG_ERROR and success as EOF (plan_wire.h).
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
import { SETNS_ORDER, consoleSetupStep, execStep, homeStep, identityStep, limitSteps, lookPathStep, step } from './process-steps';
import type { SeccompPlanSteps } from '../seccomp/plan';
import { execAffinitySteps, ioprioStep, lsmSteps, schedulerStep } from './process-extras';

export interface ExecPlanInput {
  /** The container's config (saved at create). */
  config: Spec;
  /** The process to run (process.json, or the config's process with the flags applied). */
  proc: Process;
  /** Host pid of the container's init: its /proc/<pid>/ns/* are joined. */
  initPid: number;
  /** fds 3 .. 3+preserveFds-1 are passed on. */
  preserveFds: number;
  /** process.terminal: console socket + pty size (no /dev/console bind for exec, as runc). */
  console?: { socket: string; rows: number; cols: number; foreground?: boolean };
  /** Where the namespaces are read (default /proc; tests). */
  procRoot?: string;
  /** The container's linux.seccomp, compiled (src/seccomp: prepareSeccomp / seccompPlanSteps). */
  seccomp?: SeccompPlanSteps;
  /** cgroup v1 "tasks" files the helper writes "0" to, before any setns (lifecycle/exec.ts). */
  joinCgroups?: readonly string[];
}

export interface ExecPlan {
  joinPidNs?: string;
  steps: PlanStep[];
}

export function buildExecPlan(input: ExecPlanInput): ExecPlan {
  const { config, proc } = input;
  const procRoot = input.procRoot ?? '/proc';
  const nsDir = `${procRoot}/${input.initPid}/ns`;
  const types = new Set((config.linux?.namespaces ?? []).map((n) => n.type));
  const steps: PlanStep[] = [];
  // process.execCPUAffinity: "initial" from the start (before the v1 cgroup moves), "final" just before execve.
  const affinity = execAffinitySteps(proc);
  if (affinity.initial) steps.push(affinity.initial);
  // Into the container's v1 cgroups while the host's cgroup mounts are still visible.
  for (const tasks of input.joinCgroups ?? []) steps.push(step(Op.JoinCgroup, tasks));
  if (input.console) steps.push(step(Op.ConsoleConnect, input.console.socket));
  // The seccomp agent's socket is connected while its host path is visible (before setns mnt).
  if (input.seccomp?.listener) steps.push(input.seccomp.listener);

  for (const [type, name] of SETNS_ORDER) {
    if (types.has(type)) steps.push(step(Op.Setns, `${nsDir}/${name}`, name));
  }
  if (input.console) steps.push(consoleSetupStep(input.console, false));
  // No mount namespace: the init chrooted into the rootfs (plan/build.ts), so the process does too.
  if (!types.has('mount')) steps.push(step(Op.Chroot, `${procRoot}/${input.initPid}/root`));

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
  return { joinPidNs: types.has('pid') ? `${nsDir}/pid` : undefined, steps };
}
