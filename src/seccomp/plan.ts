/**
 * The plan steps that load a compiled filter (addon/common/plan_wire.h
 * OP_SECCOMP, OP_SECCOMP_LISTENER), placed as runc places them:
 *
 *   no_new_privs set   → OP_SECCOMP "exec": the helper loads the filter at the
 *                        very end of OP_EXEC, right before execve, after its
 *                        own signal reset/close_range/sigprocmask (runc loads
 *                        it as close to execve as it can; here only execve,
 *                        plus sendmsg/close for NOTIFY, follows).
 *   no_new_privs unset → OP_SECCOMP "now" just before OP_IDENTITY: loading
 *                        needs CAP_SYS_ADMIN, which the identity drops. The
 *                        identity, READY, fifo wait and exec syscalls then run
 *                        under the filter, as in runc: the profile must allow
 *                        them (Docker's does).
 *   NOTIFY             → OP_SECCOMP_LISTENER first in the plan (the host path of
 *                        the agent's socket is visible before any setns/pivot);
 *                        OP_SECCOMP carries the containerProcessState JSON, and
 *                        the helper sends it with the notify fd in one sendmsg.
 *
 * Used by create (src/plan/build.ts places the steps) and by exec.
 */
import { Op, type PlanStep } from '../plan/ops';
import type { CompiledSeccomp } from './compile';

export interface SeccompPlanSteps {
  /** OP_SECCOMP_LISTENER: first in the plan (before any setns or mount op). */
  listener?: PlanStep;
  /** OP_SECCOMP. */
  load: PlanStep;
  /**
   * true: put `load` right before OP_EXEC (it defers itself to execve);
   * false: right before OP_IDENTITY.
   */
  atExec: boolean;
  /** Whether bindSeccompState must be called once the container pid is known. */
  needsState: boolean;
}

/** runtime.md "State" as the agent receives it (status "creating" for create). */
export interface SeccompAgentState {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
  /** exec: the new process's host pid (containerProcessState.pid); `pid` stays the container's init. Default: pid. */
  processPid?: number;
}

export function seccompPlanSteps(c: CompiledSeccomp, noNewPrivileges: boolean): SeccompPlanSteps {
  const load: PlanStep = { op: Op.Seccomp, fields: [String(c.flags), c.program, noNewPrivileges ? 'exec' : 'now', ''] };
  const out: SeccompPlanSteps = { load, atExec: noNewPrivileges, needsState: c.notify };
  if (c.notify && c.listenerPath) out.listener = { op: Op.SeccompListener, fields: [c.listenerPath] };
  return out;
}

/**
 * config-linux.md "Seccomp" / runtime.md "containerProcessState": what the
 * agent receives with the notify fd (fds[0] is the seccomp fd).
 */
export function containerProcessState(c: CompiledSeccomp, state: SeccompAgentState): string {
  return JSON.stringify({
    ociVersion: state.ociVersion,
    fds: ['seccompFd'],
    pid: state.processPid ?? state.pid,
    metadata: c.listenerMetadata,
    state: {
      ociVersion: state.ociVersion,
      id: state.id,
      status: state.status,
      pid: state.pid,
      bundle: state.bundle,
      annotations: state.annotations ?? {},
    },
  });
}

/** Fills OP_SECCOMP's state field once the container's host pid is known (before the plan is sent). */
export function bindSeccompState(steps: SeccompPlanSteps, c: CompiledSeccomp, state: SeccompAgentState): void {
  if (!steps.needsState) return;
  steps.load.fields[3] = containerProcessState(c, state);
}
