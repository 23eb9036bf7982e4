/**
 * Steps shared by the create plan (build.ts) and the exec plan (exec-plan.ts):
 * the namespace join order, rlimits, oom_score_adj, identity and the final
 * execve. One definition, so `exec` sets a process up exactly as `create`.
 */
import { TsrunError } from '../errors';
import type { Namespace, Process } from '../config/types';
import { capabilityMask, maskHex } from './capabilities';
import { Op, type PlanStep } from './ops';

export const step = (op: Op, ...fields: (string | number | bigint)[]): PlanStep => ({ op, fields: fields.map(String) });

/** OP_CONSOLE_SETUP; a foreground terminal (tsrun's own proxy) also clears ONLCR, as runc. */
export function consoleSetupStep(c: { rows: number; cols: number; foreground?: boolean }, mountConsole: boolean): PlanStep {
  const base = [c.rows, c.cols, mountConsole ? 1 : 0];
  return c.foreground ? step(Op.ConsoleSetup, ...base, 1) : step(Op.ConsoleSetup, ...base);
}

/**
 * setns(2) type names understood by the helper, in join order: user first (it
 * owns the others), mount last. A time namespace is joined by the helper too:
 * the kernel refuses that join from multi-threaded Node (EUSERS).
 */
export const SETNS_ORDER: [Namespace['type'], string][] = [
  ['user', 'user'],
  ['ipc', 'ipc'],
  ['uts', 'uts'],
  ['network', 'net'],
  ['cgroup', 'cgroup'],
  ['time', 'time'],
  ['mount', 'mnt'],
];

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

/** process.rlimits and process.oomScoreAdj. */
export function limitSteps(proc: Process): PlanStep[] {
  const steps = (proc.rlimits ?? []).map((r) => {
    const res = RLIMITS[r.type];
    if (res === undefined) throw new TsrunError(`process.rlimits: unknown rlimit type "${r.type}"`);
    return step(Op.Rlimit, res, BigInt(r.soft), BigInt(r.hard));
  });
  if (proc.oomScoreAdj !== undefined) steps.push(step(Op.OomScoreAdj, proc.oomScoreAdj));
  return steps;
}

/** user, groups, umask, no_new_privs and the five capability sets. */
export function identityStep(proc: Process): PlanStep {
  const caps = proc.capabilities ?? {};
  // Unknown names were already warned about by the semantic checks (as runc does); they are skipped.
  const masks = (['effective', 'permitted', 'inheritable', 'bounding', 'ambient'] as const).map((s) => maskHex(capabilityMask(caps[s]).mask));
  return step(
    Op.Identity,
    proc.user.uid,
    proc.user.gid,
    (proc.user.additionalGids ?? []).join(','),
    proc.user.umask === undefined ? '' : proc.user.umask,
    proc.noNewPrivileges ? 1 : 0,
    ...masks,
  );
}

/** The value of a variable in an env list: the last definition wins (runc), undefined when none. */
export function envValue(env: readonly string[] | undefined, name: string): string | undefined {
  let found: string | undefined;
  for (const e of env ?? []) if (e.startsWith(`${name}=`)) found = e.slice(name.length + 1);
  return found;
}

/**
 * args[0] is looked up by the init, inside the container (its mounts, its
 * cwd, the process's user), with PATH from process.env (none: nothing is
 * searched, as runc), before READY so that a missing command fails create.
 * `eaccessOp` is the word runc puts before a path the kernel will not
 * execute: "exec" in create, "eaccess" in exec.
 */
export function lookPathStep(proc: Process, eaccessOp: 'exec' | 'eaccess'): PlanStep {
  return step(Op.LookPath, (proc.args ?? [])[0] ?? '', envValue(proc.env, 'PATH') ?? '', eaccessOp);
}

/** runc sets HOME from the container's /etc/passwd (else "/") when process.env has none. */
export function homeStep(proc: Process): PlanStep | undefined {
  if ((proc.env ?? []).some((e) => e.startsWith('HOME='))) return undefined;
  return step(Op.Home, proc.user.uid);
}

/** The last step: execve of what OP_LOOKPATH found (empty path), with args and env, keeping preserveFds fds. */
export function execStep(preserveFds: number, proc: Process): PlanStep {
  const args = proc.args ?? [];
  return { op: Op.Exec, fields: ['', String(preserveFds), String(args.length), ...args, ...(proc.env ?? [])] };
}
