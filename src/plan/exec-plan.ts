/**
 * The plan of `tsrun exec`: join every namespace of a running container and
 * run one more process in it, as runc's setns init does. No new namespace,
 * no mount, no fifo: OP_SETNS (user first, mnt last), then the process
 * attributes, OP_CHDIR, OP_IDENTITY and OP_EXEC. Without OP_READY the helper
 * reports an error as MSG_ERROR and success as EOF (plan_wire.h).
 *
 * setns(mnt) sets the helper's root and cwd to the root of the container's
 * mount namespace: after pivot_root that is the container's root; after
 * --no-pivot's MS_MOVE the kernel follows the mount stacked on the namespace
 * root, i.e. the moved rootfs. So no chroot is needed (runc's nsexec does none).
 *
 * Pure, like build.ts: unit-tested without root.
 */
import { TsrunError } from '../errors';
import type { Namespace, Process, Spec } from '../config/types';
import { capabilityMask, maskHex } from './capabilities';
import { RLIMITS } from './build';
import { Op, type PlanStep } from './ops';
import type { SeccompPlanSteps } from '../seccomp/plan';
import { execAffinitySteps, ioprioStep, lsmSteps, schedulerStep } from './process-extras';

/** setns(2) names in join order: user first (it owns the others), mount last. */
const EXEC_SETNS_ORDER: [Namespace['type'], string][] = [
  ['user', 'user'],
  ['ipc', 'ipc'],
  ['uts', 'uts'],
  ['network', 'net'],
  ['cgroup', 'cgroup'],
  ['time', 'time'],
  ['mount', 'mnt'],
];

export interface ExecPlanInput {
  /** The container's config (saved at create). */
  config: Spec;
  /** The process to run (process.json, or the config's process with the flags applied). */
  proc: Process;
  /** Host pid of the container's init: its /proc/<pid>/ns/* are joined. */
  initPid: number;
  /** args[0] resolved inside the container. */
  execPath: string;
  /** fds 3 .. 3+preserveFds-1 are passed on. */
  preserveFds: number;
  /** process.terminal: console socket + pty size (no /dev/console bind for exec, as runc). */
  console?: { socket: string; rows: number; cols: number };
  /** Where the namespaces are read (default /proc; tests). */
  procRoot?: string;
  /** The container's linux.seccomp, compiled (src/seccomp: prepareSeccomp / seccompPlanSteps). */
  seccomp?: SeccompPlanSteps;
}

export interface ExecPlan {
  joinPidNs?: string;
  steps: PlanStep[];
}

const step = (op: Op, ...fields: (string | number)[]): PlanStep => ({ op, fields: fields.map(String) });

export function buildExecPlan(input: ExecPlanInput): ExecPlan {
  const { config, proc } = input;
  const procRoot = input.procRoot ?? '/proc';
  const nsDir = `${procRoot}/${input.initPid}/ns`;
  const types = new Set((config.linux?.namespaces ?? []).map((n) => n.type));
  const steps: PlanStep[] = [];
  // process.execCPUAffinity: "initial" from the start (before any cgroup move), "final" just before execve.
  const affinity = execAffinitySteps(proc);
  if (affinity.initial) steps.push(affinity.initial);
  if (input.console) steps.push(step(Op.ConsoleConnect, input.console.socket));
  // The seccomp agent's socket is connected while its host path is visible (before setns mnt).
  if (input.seccomp?.listener) steps.push(input.seccomp.listener);

  for (const [type, name] of EXEC_SETNS_ORDER) {
    if (types.has(type)) steps.push(step(Op.Setns, `${nsDir}/${name}`, name));
  }
  if (input.console) steps.push(step(Op.ConsoleSetup, input.console.rows, input.console.cols, 0));

  for (const r of proc.rlimits ?? []) {
    const res = RLIMITS[r.type];
    if (res === undefined) throw new TsrunError(`process.rlimits: unknown rlimit type "${r.type}"`);
    steps.push(step(Op.Rlimit, res, BigInt(r.soft).toString(), BigInt(r.hard).toString()));
  }
  if (proc.oomScoreAdj !== undefined) steps.push(step(Op.OomScoreAdj, proc.oomScoreAdj));
  const sched = schedulerStep(proc);
  if (sched) steps.push(sched);
  const ioprio = ioprioStep(proc);
  if (ioprio) steps.push(ioprio);
  steps.push(...lsmSteps(proc));

  steps.push(step(Op.Chdir, proc.cwd));
  const caps = proc.capabilities ?? {};
  const masks = (['effective', 'permitted', 'inheritable', 'bounding', 'ambient'] as const).map((s) => maskHex(capabilityMask(caps[s]).mask));
  // Without no_new_privs seccomp needs CAP_SYS_ADMIN: load it before the identity (runc).
  if (input.seccomp && !input.seccomp.atExec) steps.push(input.seccomp.load);
  steps.push(
    step(
      Op.Identity,
      proc.user.uid,
      proc.user.gid,
      (proc.user.additionalGids ?? []).join(','),
      proc.user.umask === undefined ? '' : proc.user.umask,
      proc.noNewPrivileges ? 1 : 0,
      ...masks,
    ),
  );
  if (affinity.final) steps.push(affinity.final);
  // With no_new_privs the helper defers this load to right before execve.
  if (input.seccomp?.atExec) steps.push(input.seccomp.load);
  const args = proc.args ?? [];
  const env = proc.env ?? [];
  steps.push({ op: Op.Exec, fields: [input.execPath, String(input.preserveFds), String(args.length), ...args, ...env] });
  return { joinPidNs: types.has('pid') ? `${nsDir}/pid` : undefined, steps };
}
