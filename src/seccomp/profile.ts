/**
 * linux.seccomp → a normalized profile: name tables (config-linux.md
 * "Seccomp", libseccomp's values) and the semantic checks the JSON schema
 * cannot make. Pure (no addon), so bad profiles are rejected before anything
 * is created and the rules are unit-tested without root.
 *
 * Semantics follow runc (libcontainer/seccomp): SCMP_ACT_KILL is KILL_THREAD;
 * ERRNO and TRACE carry errnoRet (default EPERM); a rule whose action equals
 * the default action is dropped; conditions are ANDed in one rule unless one
 * argument index appears more than once, in which case every condition becomes
 * its own rule (OR), as runc does; NOTIFY is refused as the default action and
 * for write(2), and needs listenerPath.
 */
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Seccomp } from '../config/types';

/**
 * libseccomp action values (SCMP_ACT_*; ERRNO/TRACE get errnoRet in the low 16
 * bits). They equal the kernel's SECCOMP_RET_* values, which is what
 * SECCOMP_GET_ACTION_AVAIL is asked about.
 */
export const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
};

/** enum scmp_compare. */
export const OPERATORS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** Spec architecture names → libseccomp's names (seccomp_arch_resolve_name). */
export const ARCHS: Record<string, string> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
  SCMP_ARCH_M68K: 'm68k',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_SH: 'sh',
  SCMP_ARCH_SHEB: 'sheb',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
};

/** The spec's flags → SECCOMP_FILTER_FLAG_* bits (linux/seccomp.h). */
export const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};
export const FLAG_NEW_LISTENER = 8;
export const FLAG_TSYNC_ESRCH = 16;

const EPERM = 1;
const MAX_ARGS = 6;
/** sockaddr_un.sun_path holds 108 bytes including the NUL. */
const MAX_SOCKET_PATH = 107;

/** One libseccomp rule: seccomp_rule_add_array(action, resolve(name), args). */
export interface SeccompRule {
  name: string;
  action: number;
  args: { index: number; op: number; value: bigint; valueTwo: bigint }[];
}

export interface NormalizedProfile {
  defaultAction: number;
  /** libseccomp names; the native arch is added by libseccomp itself. */
  archs: string[];
  /** Spec flag names, in config order, deduplicated. */
  flagNames: string[];
  /** Spec action names used anywhere (default included), for the kernel availability check. */
  actionNames: string[];
  rules: SeccompRule[];
  /** Some rule uses SCMP_ACT_NOTIFY. */
  notify: boolean;
  listenerPath?: string;
  listenerMetadata: string;
  /** Things worth a debug line (ignored fields, dropped rules). */
  notes: string[];
  /**
   * Prepend runc's -ENOSYS stub (addon/spawn/seccomp.cc): syscalls newer than
   * every one the profile names get ENOSYS, not the default action, so libc
   * falls back (clone3 → clone). Off when the default already allows (ALLOW,
   * LOG, TRACE: a tracer handles ENOSYS itself) or already returns ENOSYS.
   */
  enosysStub: boolean;
  /** Every syscall name in the profile, rules dropped as redundant included: they bound the stub. */
  names: string[];
}

function bad(where: string, what: string): never {
  throw new TsrunError(`linux.seccomp${where}: ${what}`);
}

function errnoRet(where: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) bad(where, `errnoRet ${JSON.stringify(v)} is not an integer in 0..65535`);
  return v;
}

/** The libseccomp action value for a spec action name (+ errnoRet for ERRNO/TRACE, default EPERM). */
export function actionValue(name: string, ret: number | undefined, where: string): number {
  const base = ACTIONS[name];
  if (base === undefined) bad(where, `unknown action ${JSON.stringify(name)} (one of ${Object.keys(ACTIONS).join(', ')})`);
  if (name === 'SCMP_ACT_ERRNO' || name === 'SCMP_ACT_TRACE') return (base | ((ret ?? EPERM) & 0xffff)) >>> 0;
  return base;
}

function argValue(where: string, field: string, v: unknown): bigint {
  if (v === undefined) return 0n;
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) bad(where, `${field} ${v} is not an unsigned 64-bit integer`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(where, `${field} ${JSON.stringify(v)} is not an unsigned 64-bit integer`);
  if (!Number.isSafeInteger(v)) {
    // JSON numbers above 2^53 were already rounded by JSON.parse; keep the rounded value (runc reads uint64 exactly).
    return BigInt(v) & 0xffffffffffffffffn;
  }
  return BigInt(v);
}

/** Validates linux.seccomp and resolves names to numbers; throws TsrunError naming the bad field. */
export function normalizeProfile(s: Seccomp): NormalizedProfile {
  if (!s || typeof s !== 'object') bad('', 'must be an object');
  const notes: string[] = [];
  const actionNames = new Set<string>();
  if (typeof s.defaultAction !== 'string') bad('.defaultAction', 'is required');
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') bad('.defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action');
  const defaultAction = actionValue(s.defaultAction, errnoRet('.defaultErrnoRet', s.defaultErrnoRet), '.defaultAction');
  actionNames.add(s.defaultAction);
  if (s.defaultErrnoRet !== undefined && s.defaultAction !== 'SCMP_ACT_ERRNO' && s.defaultAction !== 'SCMP_ACT_TRACE') {
    notes.push(`defaultErrnoRet ignored: it only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${s.defaultAction}`);
  }

  const archs: string[] = [];
  for (const [i, a] of (s.architectures ?? []).entries()) {
    const name = ARCHS[a];
    if (!name) bad(`.architectures[${i}]`, `unknown architecture ${JSON.stringify(a)} (one of ${Object.keys(ARCHS).join(', ')})`);
    if (!archs.includes(name)) archs.push(name);
  }

  const flagNames: string[] = [];
  for (const [i, f] of (s.flags ?? []).entries()) {
    if (FLAGS[f] === undefined) bad(`.flags[${i}]`, `unknown flag ${JSON.stringify(f)} (one of ${Object.keys(FLAGS).join(', ')})`);
    if (!flagNames.includes(f)) flagNames.push(f);
  }

  const rules: SeccompRule[] = [];
  const names = new Set<string>();
  let notify = false;
  for (const [i, call] of (s.syscalls ?? []).entries()) {
    const where = `.syscalls[${i}]`;
    if (!Array.isArray(call.names) || call.names.length === 0) bad(`${where}.names`, 'needs at least one syscall name');
    if (typeof call.action !== 'string') bad(`${where}.action`, 'is required');
    const action = actionValue(call.action, errnoRet(`${where}.errnoRet`, call.errnoRet), `${where}.action`);
    actionNames.add(call.action);
    if (call.errnoRet !== undefined && call.action !== 'SCMP_ACT_ERRNO' && call.action !== 'SCMP_ACT_TRACE') {
      notes.push(`${where}: errnoRet ignored with ${call.action}`);
    }
    const args = (call.args ?? []).map((a, j) => {
      const aw = `${where}.args[${j}]`;
      if (!Number.isInteger(a.index) || a.index < 0 || a.index >= MAX_ARGS) bad(`${aw}.index`, `${JSON.stringify(a.index)} is not in 0..${MAX_ARGS - 1}`);
      const op = OPERATORS[a.op];
      if (op === undefined) bad(`${aw}.op`, `unknown operator ${JSON.stringify(a.op)} (one of ${Object.keys(OPERATORS).join(', ')})`);
      return { index: a.index, op, value: argValue(aw, 'value', a.value), valueTwo: argValue(aw, 'valueTwo', a.valueTwo) };
    });
    for (const [k, name] of call.names.entries()) {
      if (typeof name !== 'string' || name === '') bad(`${where}.names[${k}]`, 'is not a syscall name');
      names.add(name);
    }
    if (call.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      if (call.names.includes('write')) bad(`${where}`, 'SCMP_ACT_NOTIFY cannot be used for the write syscall (the runtime writes after loading the filter)');
    }
    if (action === defaultAction) {
      notes.push(`${where}: same action as the default, rule not needed`);
      continue;
    }
    const perIndex = new Map<number, number>();
    for (const a of args) perIndex.set(a.index, (perIndex.get(a.index) ?? 0) + 1);
    const split = [...perIndex.values()].some((n) => n > 1);
    for (const name of call.names) {
      if (split) for (const a of args) rules.push({ name, action, args: [a] });
      else rules.push({ name, action, args });
    }
  }

  let listenerPath: string | undefined;
  if (notify) {
    if (!s.listenerPath) bad('.listenerPath', 'is required when SCMP_ACT_NOTIFY is used');
    if (!path.isAbsolute(s.listenerPath)) bad('.listenerPath', `${JSON.stringify(s.listenerPath)} is not an absolute path`);
    if (Buffer.byteLength(s.listenerPath) > MAX_SOCKET_PATH) bad('.listenerPath', `is longer than ${MAX_SOCKET_PATH} bytes`);
    listenerPath = s.listenerPath;
  } else if (s.listenerPath) {
    notes.push('listenerPath ignored: no rule uses SCMP_ACT_NOTIFY');
  }

  return {
    defaultAction,
    archs,
    flagNames,
    actionNames: [...actionNames],
    rules,
    notify,
    listenerPath,
    listenerMetadata: s.listenerMetadata ?? '',
    notes,
    enosysStub: !ALLOWING.has(s.defaultAction) && defaultAction !== ERRNO_ENOSYS,
    names: [...names],
  };
}

const ALLOWING = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']);
const ENOSYS = 38;
const ERRNO_ENOSYS = (ACTIONS.SCMP_ACT_ERRNO | ENOSYS) >>> 0;
