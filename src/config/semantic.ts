/**
 * Checks on config.json that the JSON schema cannot express, run after schema
 * validation and before anything is created. Errors make `create` fail;
 * warnings are logged (as runc logs them) and otherwise ignored.
 *
 * Every message starts with the field path in the config, e.g.
 * `linux.namespaces[2]: duplicate namespace "pid"`.
 *
 * Also home of the in-rootfs path resolver (resolveInRoot).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';
import type { Hook, Spec } from './types';

export interface SemanticResult {
  errors: string[];
  warnings: string[];
}

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;

export const RLIMIT_TYPES = [
  'RLIMIT_AS',
  'RLIMIT_CORE',
  'RLIMIT_CPU',
  'RLIMIT_DATA',
  'RLIMIT_FSIZE',
  'RLIMIT_LOCKS',
  'RLIMIT_MEMLOCK',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_NOFILE',
  'RLIMIT_NPROC',
  'RLIMIT_RSS',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
  'RLIMIT_SIGPENDING',
  'RLIMIT_STACK',
] as const;

/** Linux capability names and numbers (linux/capability.h), CAP_CHOWN = 0 .. CAP_CHECKPOINT_RESTORE = 40. */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
});

/**
 * execve(2) limits, as the kernel applies them with the default 8 MiB stack
 * rlimit: the argv+envp strings (each with its NUL) plus the pointer arrays
 * must fit in min(3/4 * 8 MiB, RLIMIT_STACK / 4) = 2 MiB, and no single
 * string may exceed MAX_ARG_STRLEN (32 pages = 128 KiB, NUL included). We
 * use the fixed 2 MiB figure rather than the caller's own stack rlimit,
 * because the container's rlimits (not tsrun's) apply at exec time.
 */
export const ARG_MAX_TOTAL = 2 * 1024 * 1024;
export const MAX_ARG_STRLEN = 128 * 1024;

const MAX_SYMLINKS = 40;

// ---------------------------------------------------------------------------
// Path resolution inside the rootfs

interface Resolved {
  /** Host path (rootfs + resolved in-container path), symlinks all followed. */
  host: string;
  /** The in-container absolute path, symlinks all followed. */
  inner: string;
  /** false when some component does not exist (the rest was joined lexically). */
  exists: boolean;
}

function walkInRoot(rootfs: string, p: string): Resolved {
  const root = path.resolve(rootfs);
  const current: string[] = [];
  const queue = p.split('/');
  let links = 0;
  let exists = true;
  while (queue.length > 0) {
    const c = queue.shift() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      current.pop(); // ".." at the container's root stays at the root
      continue;
    }
    if (!exists) {
      current.push(c);
      continue;
    }
    const host = path.join(root, ...current, c);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch {
      // Missing (or not a directory on the way): the rest is joined lexically.
      exists = false;
      current.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) {
        throw new TsrunError(`resolving ${p} in ${root}: too many levels of symbolic links`, { path: p });
      }
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) current.length = 0; // absolute links are relative to the container's root
      queue.unshift(...target.split('/'));
      continue;
    }
    current.push(c);
  }
  const inner = '/' + current.join('/');
  return { host: current.length === 0 ? root : path.join(root, ...current), inner, exists };
}

/**
 * The host path of in-container path `p` under `rootfs`, following symlinks
 * as the container would see them: absolute targets are taken relative to
 * the rootfs, and ".." never climbs above it. At most 40 links are followed
 * (then a TsrunError, as ELOOP). Components that do not exist are joined
 * lexically, so the result is always inside rootfs.
 */
export function resolveInRoot(rootfs: string, p: string): string {
  return walkInRoot(rootfs, p).host;
}

// ---------------------------------------------------------------------------
// The checks

const SYSCTL_IPC = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** sysctl(8) accepts "/" as separator; if the first separator is "/", the dots and slashes swap roles. */
function sysctlDotted(key: string): string {
  const i = key.search(/[./]/);
  if (i === -1 || key[i] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** Index of a path for messages: `linux.sysctl["net.ipv4.ip_forward"]`. */
function key(k: string): string {
  return `[${JSON.stringify(k)}]`;
}

function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}

/**
 * Semantic checks on a schema-valid config. `bundleDir` and `rootfsAbs` are
 * absolute host paths (rootfsAbs is '' when config.root is missing).
 */
export function checkSemantics(config: Spec, bundleDir: string, rootfsAbs: string): SemanticResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  void bundleDir;

  // root
  if (!config.root) {
    errors.push('root: missing (a root filesystem is required)');
  } else {
    try {
      const st = fs.statSync(rootfsAbs);
      if (!st.isDirectory()) errors.push(`root.path: ${rootfsAbs} is not a directory`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      errors.push(`root.path: ${rootfsAbs} ${code === 'ENOENT' ? 'does not exist' : `cannot be accessed (${code ?? String(e)})`}`);
    }
  }

  // namespaces
  const linux = config.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  const nsIndex = new Map<string, number>();
  namespaces.forEach((ns, i) => {
    const type: string = ns.type;
    if (!(NAMESPACE_TYPES as readonly string[]).includes(type)) {
      errors.push(`linux.namespaces[${i}]: unknown namespace type ${JSON.stringify(type)}`);
    } else if (nsIndex.has(type)) {
      errors.push(`linux.namespaces[${i}]: duplicate namespace ${JSON.stringify(type)} (first at linux.namespaces[${nsIndex.get(type)}])`);
    } else {
      nsIndex.set(type, i);
    }
    if (ns.path !== undefined) {
      if (!isAbsolute(ns.path)) {
        errors.push(`linux.namespaces[${i}].path: must be an absolute path (got ${JSON.stringify(ns.path)})`);
      } else if (!fs.existsSync(ns.path)) {
        errors.push(`linux.namespaces[${i}].path: ${ns.path} does not exist`);
      }
    }
  });
  const has = (t: string) => nsIndex.has(t);
  const nsPath = (t: string) => {
    const i = nsIndex.get(t);
    return i === undefined ? undefined : namespaces[i].path;
  };

  // The spec allows it: the process runs in the runtime's mount namespace, chrooted into root.path
  // (runc chroots too, but also mounts into the host's table and leaves it so: tsrun mounts nothing).
  if (!has('mount') && ((config.mounts ?? []).length > 0 || (linux.devices ?? []).length > 0 || config.root?.readonly)) {
    warnings.push('linux.namespaces: no mount namespace, so mounts, devices and root.readonly are not applied (they would change the host\'s mount table); the process is chrooted into root.path');
  }

  const uidMaps = linux.uidMappings ?? [];
  const gidMaps = linux.gidMappings ?? [];
  if (has('user')) {
    if (nsPath('user') === undefined) {
      if (uidMaps.length === 0) errors.push('linux.uidMappings: a new user namespace needs uid mappings, none given');
      if (gidMaps.length === 0) errors.push('linux.gidMappings: a new user namespace needs gid mappings, none given');
    }
  } else {
    if (linux.uidMappings !== undefined && uidMaps.length > 0) {
      errors.push('linux.uidMappings: user namespace mappings specified, but there is no user namespace in linux.namespaces');
    }
    if (linux.gidMappings !== undefined && gidMaps.length > 0) {
      errors.push('linux.gidMappings: user namespace mappings specified, but there is no user namespace in linux.namespaces');
    }
  }

  if (config.hostname && !has('uts')) errors.push('hostname: unable to set hostname without a private UTS namespace');
  if (config.domainname && !has('uts')) errors.push('domainname: unable to set domainname without a private UTS namespace');
  if (linux.timeOffsets && Object.keys(linux.timeOffsets).length > 0 && !has('time')) {
    errors.push('linux.timeOffsets: time namespace offsets specified, but there is no time namespace in linux.namespaces');
  }

  // sysctl (runc's rules: only namespaced keys, and only when that namespace is the container's own)
  let hostNet: boolean | undefined;
  for (const raw of Object.keys(linux.sysctl ?? {})) {
    const s = sysctlDotted(raw);
    const where = `linux.sysctl${key(raw)}`;
    if (SYSCTL_IPC.has(s) || s.startsWith('fs.mqueue.')) {
      if (!has('ipc')) errors.push(`${where}: sysctl ${JSON.stringify(s)} is not allowed in the host's IPC namespace`);
      continue;
    }
    if (s.startsWith('net.')) {
      if (hostNet === undefined) {
        const p = nsPath('network');
        hostNet = !has('network') || (p !== undefined && sameFile(p, '/proc/self/ns/net'));
      }
      if (hostNet) errors.push(`${where}: sysctl ${JSON.stringify(s)} is not allowed in the host's network namespace`);
      continue;
    }
    if (has('uts')) {
      if (s === 'kernel.domainname') continue;
      if (s === 'kernel.hostname') {
        errors.push(`${where}: sysctl "kernel.hostname" is not allowed, it conflicts with the "hostname" field`);
        continue;
      }
    }
    errors.push(`${where}: sysctl ${JSON.stringify(s)} is not in a separate kernel namespace`);
  }

  // mounts
  (config.mounts ?? []).forEach((m, i) => {
    const dest = m.destination;
    if (path.posix.normalize('/' + dest) === '/') {
      errors.push(`mounts[${i}].destination: mounting over "/" is not allowed (the rootfs is set by root.path)`);
    } else if (!isAbsolute(dest)) {
      warnings.push(
        `mounts[${i}].destination: relative path ${JSON.stringify(dest)} is deprecated, using it as relative to / (${path.posix.normalize('/' + dest)})`,
      );
    }
  });

  // hooks: paths are resolved in the runtime namespace and MUST be absolute
  const hooks: Record<string, Hook[] | undefined> = { ...config.hooks };
  for (const [stage, list] of Object.entries(hooks)) {
    (list ?? []).forEach((h, i) => {
      if (!isAbsolute(h.path)) errors.push(`hooks.${stage}[${i}].path: must be an absolute path (got ${JSON.stringify(h.path)})`);
    });
  }

  // process (optional for create: start fails instead)
  const proc = config.process;
  if (proc) {
    const args = proc.args ?? [];
    const env = proc.env ?? [];
    if (args.length === 0) errors.push('process.args: must contain at least one element (the program to run)');
    if (!isAbsolute(proc.cwd)) errors.push(`process.cwd: must be an absolute path (got ${JSON.stringify(proc.cwd)})`);

    env.forEach((e, i) => {
      const eq = e.indexOf('=');
      if (eq === -1) errors.push(`process.env[${i}]: ${JSON.stringify(e)} is not of the form KEY=VALUE`);
      else if (eq === 0) errors.push(`process.env[${i}]: ${JSON.stringify(e)} has an empty variable name`);
    });

    // execve(2) size limits
    let total = 0;
    const tooLong = (s: string, where: string) => {
      const n = Buffer.byteLength(s) + 1;
      total += n;
      if (n > MAX_ARG_STRLEN) errors.push(`${where}: ${n} bytes, more than execve allows for one string (MAX_ARG_STRLEN, 128 KiB)`);
    };
    args.forEach((a, i) => tooLong(a, `process.args[${i}]`));
    env.forEach((e, i) => tooLong(e, `process.env[${i}]`));
    total += 8 * (args.length + env.length + 2);
    if (total > ARG_MAX_TOTAL) {
      errors.push(`process: args and env take ${total} bytes, more than execve allows (2 MiB with the default 8 MiB stack)`);
    }

    // args[0] is not looked for here: the init looks it up inside the container, after its
    // mounts, in its cwd, as its user (runc; OP_LOOKPATH), and words the error as runc does.

    // rlimits
    const seen = new Map<string, number>();
    (proc.rlimits ?? []).forEach((rl, i) => {
      if (!(RLIMIT_TYPES as readonly string[]).includes(rl.type)) {
        errors.push(`process.rlimits[${i}]: unknown rlimit type ${JSON.stringify(rl.type)}`);
      } else if (seen.has(rl.type)) {
        errors.push(`process.rlimits[${i}]: duplicate rlimit type ${JSON.stringify(rl.type)} (first at process.rlimits[${seen.get(rl.type)}])`);
      } else {
        seen.set(rl.type, i);
      }
      if (rl.soft > rl.hard) errors.push(`process.rlimits[${i}]: soft limit ${rl.soft} is greater than hard limit ${rl.hard} for ${rl.type}`);
    });

    // capabilities: unknown names are ignored with a warning, as runc does
    const caps = proc.capabilities ?? {};
    for (const [set, names] of Object.entries(caps)) {
      (names ?? []).forEach((c, i) => {
        if (!Object.prototype.hasOwnProperty.call(CAPABILITIES, c)) {
          warnings.push(`process.capabilities.${set}[${i}]: unknown capability ${JSON.stringify(c)}, ignored`);
        }
      });
    }
  }

  return { errors, warnings };
}
