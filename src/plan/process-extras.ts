/**
 * The rest of the process and linux fields, resolved to the numbers the init
 * helper passes to the kernel (ops 60-79 of addon/common/plan_wire.h):
 * time namespace offsets, personality, scheduler, I/O priority, NUMA memory
 * policy, exec CPU affinity and LSM exec labels. Pure and validated here, so
 * a bad value fails `create` with the field's path before anything exists.
 */
import { TsrunError } from '../errors';
import type { Linux, Process } from '../config/types';
import { step } from './process-steps';
import { Op, PlanStep } from './ops';


/** personality(2) domains (linux/personality.h). */
export const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

/** sched(7) policies and sched_setattr(2) flags. */
export const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
export const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

/** ioprio_set(2) classes. */
export const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

/** set_mempolicy(2) modes and mode flags (linux/mempolicy.h). */
export const MPOL_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4, MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const MPOL_FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

/** The clocks a time namespace offsets (time_namespaces(7)). */
export const TIME_CLOCKS = ['monotonic', 'boottime'] as const;

/**
 * Parses a cpu or node list ("0-3,7") into sorted unique numbers; throws with
 * `where` on malformed input. Empty string → [].
 */
export function parseIdList(list: string, where: string, max = 8191): number[] {
  const out = new Set<number>();
  if (list.trim() === '') return [];
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new TsrunError(`${where}: invalid list ${JSON.stringify(list)} (want e.g. "0-3,7")`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new TsrunError(`${where}: invalid range ${JSON.stringify(part.trim())} in ${JSON.stringify(list)}`);
    if (b > max) throw new TsrunError(`${where}: ${b} is out of range (max ${max})`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Numbers → the canonical "0-3,7" form the helper parses. */
export function formatIdList(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    parts.push(i === j ? String(ids[i]) : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** OP_TIMENS for a new time namespace: "clock secs nanosecs" lines. */
export function timensStep(linux: Linux): PlanStep {
  const lines: string[] = [];
  for (const [clock, off] of Object.entries(linux.timeOffsets ?? {})) {
    if (!(TIME_CLOCKS as readonly string[]).includes(clock)) {
      throw new TsrunError(`linux.timeOffsets.${clock}: unknown clock (only "monotonic" and "boottime" can be offset)`);
    }
    const secs = BigInt(off.secs ?? 0);
    const nanos = off.nanosecs ?? 0;
    if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
      throw new TsrunError(`linux.timeOffsets.${clock}.nanosecs: ${nanos} is not in 0..999999999`);
    }
    lines.push(`${clock} ${secs} ${nanos}`);
  }
  return step(Op.Timens, lines.join('\n'));
}

export function personalityStep(linux: Linux): PlanStep | undefined {
  const p = linux.personality;
  if (!p) return undefined;
  const domain = PERSONALITY_DOMAINS[p.domain];
  if (domain === undefined) throw new TsrunError(`linux.personality.domain: unknown domain ${JSON.stringify(p.domain)} (LINUX or LINUX32)`);
  if ((p.flags ?? []).length > 0) {
    throw new TsrunError(`linux.personality.flags: ${JSON.stringify(p.flags)} not supported (the spec defines no personality flags)`);
  }
  return step(Op.Personality, domain);
}

/** sched_setattr(2) attributes, checked as runc's validator and the kernel do. */
export function schedulerStep(proc: Process): PlanStep | undefined {
  const s = proc.scheduler;
  if (!s) return undefined;
  const w = 'process.scheduler';
  const policy = SCHED_POLICIES[s.policy];
  if (policy === undefined) throw new TsrunError(`${w}.policy: unknown policy ${JSON.stringify(s.policy)}`);
  let flags = 0;
  for (const f of s.flags ?? []) {
    const v = SCHED_FLAGS[f];
    if (v === undefined) throw new TsrunError(`${w}.flags: unknown flag ${JSON.stringify(f)}`);
    flags |= v;
  }
  const nice = s.nice ?? 0;
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) throw new TsrunError(`${w}.nice: ${nice} is not in -20..19`);
  const prio = s.priority ?? 0;
  const realtime = s.policy === 'SCHED_FIFO' || s.policy === 'SCHED_RR';
  if (realtime && (prio < 1 || prio > 99)) throw new TsrunError(`${w}.priority: ${s.policy} needs a priority in 1..99 (got ${prio})`);
  if (!realtime && prio !== 0) throw new TsrunError(`${w}.priority: must be 0 for ${s.policy} (got ${prio})`);
  const runtime = s.runtime ?? 0;
  const deadline = s.deadline ?? 0;
  const period = s.period ?? 0;
  if (s.policy === 'SCHED_DEADLINE') {
    if (runtime <= 0) throw new TsrunError(`${w}.runtime: SCHED_DEADLINE needs a runtime > 0`);
    if (deadline !== 0 && runtime > deadline) throw new TsrunError(`${w}: runtime ${runtime} > deadline ${deadline}`);
    if (period !== 0 && deadline > period) throw new TsrunError(`${w}: deadline ${deadline} > period ${period}`);
  } else if (runtime !== 0 || deadline !== 0 || period !== 0) {
    throw new TsrunError(`${w}: runtime, deadline and period apply only to SCHED_DEADLINE`);
  }
  return step(Op.Scheduler, policy, flags, nice, prio, runtime, deadline, period);
}

export function ioprioStep(proc: Process): PlanStep | undefined {
  const io = proc.ioPriority;
  if (!io) return undefined;
  const cls = IOPRIO_CLASSES[io.class];
  if (cls === undefined) throw new TsrunError(`process.ioPriority.class: unknown class ${JSON.stringify(io.class)}`);
  const prio = io.priority ?? 0;
  if (!Number.isInteger(prio) || prio < 0 || prio > 7) throw new TsrunError(`process.ioPriority.priority: ${prio} is not in 0..7`);
  return step(Op.Ioprio, (cls << 13) | prio);
}

export function mempolicyStep(linux: Linux): PlanStep | undefined {
  const mp = linux.memoryPolicy;
  if (!mp) return undefined;
  const w = 'linux.memoryPolicy';
  const mode = MPOL_MODES[mp.mode];
  if (mode === undefined) throw new TsrunError(`${w}.mode: unknown mode ${JSON.stringify(mp.mode)}`);
  let flags = 0;
  for (const f of mp.flags ?? []) {
    const v = MPOL_FLAGS[f];
    if (v === undefined) throw new TsrunError(`${w}.flags: unknown flag ${JSON.stringify(f)}`);
    flags |= v;
  }
  const nodes = parseIdList(mp.nodes ?? '', `${w}.nodes`, 1023);
  if ((mp.mode === 'MPOL_DEFAULT' || mp.mode === 'MPOL_LOCAL') && nodes.length > 0) {
    throw new TsrunError(`${w}.nodes: ${mp.mode} takes no nodes`);
  }
  if (['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY'].includes(mp.mode) && nodes.length === 0) {
    throw new TsrunError(`${w}.nodes: ${mp.mode} needs at least one node`);
  }
  if ((flags & MPOL_FLAGS.MPOL_F_STATIC_NODES) && (flags & MPOL_FLAGS.MPOL_F_RELATIVE_NODES)) {
    throw new TsrunError(`${w}.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES are mutually exclusive`);
  }
  return step(Op.Mempolicy, mode | flags, formatIdList(nodes));
}

/**
 * process.execCPUAffinity, for a process started by `exec`: `initial` is the
 * helper's first step (before it is moved into the container's cgroup),
 * `final` its last before execve. The spec exempts the container's init, so
 * the create plan never includes them.
 */
export function execAffinitySteps(proc: Process): { initial?: PlanStep; final?: PlanStep } {
  const a = proc.execCPUAffinity;
  const out: { initial?: PlanStep; final?: PlanStep } = {};
  if (a?.initial) out.initial = step(Op.CpuAffinity, formatIdList(parseIdList(a.initial, 'process.execCPUAffinity.initial')));
  if (a?.final) out.final = step(Op.CpuAffinity, formatIdList(parseIdList(a.final, 'process.execCPUAffinity.final')));
  return out;
}

/** OP_LSM_EXEC_LABEL steps (the host's support is checked by lifecycle/host-extras). */
export function lsmSteps(proc: Process): PlanStep[] {
  const out: PlanStep[] = [];
  if (proc.apparmorProfile) out.push(step(Op.LsmExecLabel, 'apparmor', proc.apparmorProfile));
  if (proc.selinuxLabel) out.push(step(Op.LsmExecLabel, 'selinux', proc.selinuxLabel));
  return out;
}

/** mount data with SELinux's context= for linux.mountLabel (runc's FormatMountLabel). */
export function withMountLabel(data: string, label: string | undefined): string {
  if (!label) return data;
  const ctx = `context="${label}"`;
  return data ? `${data},${ctx}` : ctx;
}
