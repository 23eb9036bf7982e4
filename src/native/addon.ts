/**
 * Typed loader for the native addon (build/Release/tsrun_addon.node) and the
 * location of the sealed init helper (build/Release/tsrun-init).
 *
 * The addon only clones: the child execs tsrun-init from a sealed memfd, and
 * TypeScript then drives it over `syncFd` with the framing of
 * addon/common/plan_wire.h (src/plan/wire.ts). Native errors carry `errno`
 * and `syscall` and are re-thrown here as TsrunError.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError } from '../errors';

export interface SpawnInitRequest {
  /** Absolute path of tsrun-init on the host (see initHelperPath()). */
  initPath: string;
  /** OR of CLONE_NEW* flags; nothing else is accepted (CLONE_NEWTIME is not a clone flag: refused). */
  cloneFlags: number;
  /**
   * The staged entry into namespaces (src/plan/ns-order.ts): an encoded plan
   * ending in OP_FORK, sent as MSG_BOOTSTRAP. The addon answers the helper's
   * user-namespace request with the maps below and returns the pid the fork
   * reports (the clone's own child, the intermediate, has exited).
   */
  bootstrap?: Buffer;
  /** fds 3 .. 3+preserveFds-1 are passed to the container; each must be open. */
  preserveFds: number;
  /** More fds for the helper, found at ns-order.ts passedFd(preserveFds, i) (the console socket, a pidfd). */
  passFds?: number[];
  /** Make the caller of Node the init's parent (falls back if Node is a pid-ns init). */
  cloneParent: boolean;
  /**
   * A cgroup2 directory the init is born in (clone3 CLONE_INTO_CGROUP). When
   * the kernel or the cgroup refuses, the init is cloned as usual and
   * `inCgroup` is false: the caller then writes its pid to cgroup.procs.
   */
  intoCgroup?: string;
  /**
   * With CLONE_NEWUSER: contents for /proc/<pid>/uid_map and gid_map
   * ("containerID hostID size" lines). The addon writes them before the child
   * execs the helper, and the child then becomes uid/gid 0 of the namespace;
   * without maps the helper runs unmapped and has no capabilities.
   */
  uidMap?: string;
  gidMap?: string;
  /** Write "deny" to /proc/<pid>/setgroups before gid_map. */
  setgroupsDeny?: boolean;
  /**
   * Unprivileged callers mapping more than their own id: newuidmap/newgidmap
   * paths; the addon runs `helper <pid> c h s ...` (from the map lines)
   * instead of writing the map file itself (src/userns/maps.ts decides).
   */
  uidMapHelper?: string;
  gidMapHelper?: string;
}

export interface SpawnInitResult {
  /** Host pid of the init helper (later the container process). */
  pid: number;
  /** A pidfd of `pid` (close-on-exec; the caller closes it), -1 without pidfd support. */
  pidfd: number;
  /** Parent end of the sync socket: blocking, close-on-exec. Caller closes it. */
  syncFd: number;
  /** Whether CLONE_PARENT was used; false means the init is Node's child. */
  cloneParent: boolean;
  /** Whether the init was born in `intoCgroup`. */
  inCgroup: boolean;
}

export interface WaitResult {
  /** Exit status, or null when killed by a signal. */
  exitCode: number | null;
  /** Terminating signal number, or null. */
  signal: number | null;
}

interface NativeAddon {
  spawnInit(req: SpawnInitRequest): SpawnInitResult;
  mkfifo(path: string, mode: number): void;
  waitPid(pid: number): Promise<WaitResult>;
  unixListen(path: string): number;
  unixConnect(path: string): number;
  unixAccept(fd: number, timeoutMs: number): number;
  recvFds(fd: number, timeoutMs: number): RecvFdsResult;
  setWinsize(fd: number, rows: number, cols: number): void;
  CLONE_NEWNS: number;
  CLONE_NEWUTS: number;
  CLONE_NEWIPC: number;
  CLONE_NEWPID: number;
  CLONE_NEWNET: number;
  CLONE_NEWUSER: number;
  CLONE_NEWCGROUP: number;
  CLONE_NEWTIME: number;
}

/** Package root: this file is compiled to dist/src/native/addon.js. */
const PACKAGE_ROOT = path.join(__dirname, '../../..');
const ADDON_PATH = path.join(PACKAGE_ROOT, 'build/Release/tsrun_addon.node');
const INIT_PATH = path.join(PACKAGE_ROOT, 'build/Release/tsrun-init');

let loaded: Record<string, unknown> | undefined;

/**
 * The addon, loaded once for every module that uses it (spawn here, seccomp
 * and BPF device filters elsewhere); `feature` and `fns` make a stale build a
 * clear error rather than "x is not a function".
 */
export function addonWith<T>(feature: string, fns: readonly string[]): T {
  if (!loaded) {
    if (!fs.existsSync(ADDON_PATH)) {
      throw new TsrunError(`native addon not built: ${ADDON_PATH} is missing (run npm run build)`, { path: ADDON_PATH });
    }
    // process.dlopen, not require: the first require() of a file warms Node's resolver
    // (stat, realpath, package scopes), ~0.8 ms of a create for a path already known.
    const mod = { exports: {} as Record<string, unknown> };
    process.dlopen(mod, ADDON_PATH);
    loaded = mod.exports;
  }
  for (const f of fns) {
    if (typeof loaded[f] !== 'function') throw new TsrunError(`native addon ${ADDON_PATH} has no ${feature} support (rebuild with npm run build)`);
  }
  return loaded as T;
}

function addon(): NativeAddon {
  return addonWith<NativeAddon>('spawn', ['spawnInit', 'mkfifo', 'waitPid']);
}

/** Absolute path of the init helper; throws a clear error if it was not built. */
export function initHelperPath(): string {
  if (!fs.existsSync(INIT_PATH)) {
    throw new TsrunError(`init helper not built: ${INIT_PATH} is missing (run npm run build)`, { path: INIT_PATH });
  }
  return INIT_PATH;
}

/** Converts an addon error ({message, errno, syscall}) into a TsrunError. */
function rethrow(e: unknown, extra: { path?: string } = {}): never {
  if (e instanceof TsrunError) throw e;
  const err = e as Error & { errno?: unknown; syscall?: unknown };
  const details: { errno?: number; syscall?: string; path?: string } = { ...extra };
  if (typeof err?.errno === 'number') details.errno = err.errno;
  if (typeof err?.syscall === 'string') details.syscall = err.syscall;
  throw new TsrunError(err instanceof Error ? err.message : String(e), details);
}

/** Clones the sealed init helper in new namespaces (see addon/spawn/spawn.cc). */
export function spawnInit(req: SpawnInitRequest): SpawnInitResult {
  const a = addon();
  try {
    return a.spawnInit(req);
  } catch (e) {
    rethrow(e);
  }
}

/** mkfifo(2) with exactly `mode` (the umask is not applied). */
export function mkfifo(fifoPath: string, mode: number): void {
  const a = addon();
  try {
    a.mkfifo(fifoPath, mode);
  } catch (e) {
    rethrow(e, { path: fifoPath });
  }
}

/** waitpid(2) on a worker thread; only for children of this Node process. */
export async function waitPid(pid: number): Promise<WaitResult> {
  const a = addon();
  try {
    return await a.waitPid(pid);
  } catch (e) {
    rethrow(e);
  }
}

/** What one recvmsg on a console socket delivered (addon/spawn/console.cc). */
export interface RecvFdsResult {
  payload: Buffer;
  /** Received fds (close-on-exec); the caller owns and closes them. */
  fds: number[];
  /** Number of control messages. */
  cmsgs: number;
  /** msg_controllen after recvmsg, and CMSG_SPACE(sizeof(int)) (go-runc requires them equal). */
  controlLen: number;
  cmsgSpaceOne: number;
  /** msg_flags (MSG_CTRUNC = 8, MSG_TRUNC = 0x20). */
  flags: number;
}

/** Console-socket plumbing: listen on a path (SOCK_STREAM, CLOEXEC), returns the fd. */
export function unixListen(socketPath: string): number {
  try {
    return addon().unixListen(socketPath);
  } catch (e) {
    rethrow(e, { path: socketPath });
  }
}

/** connect(2) to a console socket from the host (runc's order); CLOEXEC fd, the caller closes it. */
export function unixConnect(socketPath: string): number {
  try {
    return addon().unixConnect(socketPath);
  } catch (e) {
    rethrow(e, { path: socketPath });
  }
}

/** accept4 on a listening fd, waiting at most timeoutMs (ETIMEDOUT). */
export function unixAccept(fd: number, timeoutMs: number): number {
  try {
    return addon().unixAccept(fd, timeoutMs);
  } catch (e) {
    rethrow(e);
  }
}

/** One recvmsg with room for several fds/cmsgs, waiting at most timeoutMs. */
export function recvFds(fd: number, timeoutMs: number): RecvFdsResult {
  try {
    return addon().recvFds(fd, timeoutMs);
  } catch (e) {
    rethrow(e);
  }
}

/** TIOCSWINSZ. */
export function setWinsize(fd: number, rows: number, cols: number): void {
  try {
    addon().setWinsize(fd, rows, cols);
  } catch (e) {
    rethrow(e);
  }
}

/** CLONE_NEW* flag values, read from the addon (i.e. from <sched.h>). */
export interface CloneFlags {
  NEWNS: number;
  NEWUTS: number;
  NEWIPC: number;
  NEWPID: number;
  NEWNET: number;
  NEWUSER: number;
  NEWCGROUP: number;
  NEWTIME: number;
}

export function cloneFlags(): CloneFlags {
  const a = addon();
  return {
    NEWNS: a.CLONE_NEWNS,
    NEWUTS: a.CLONE_NEWUTS,
    NEWIPC: a.CLONE_NEWIPC,
    NEWPID: a.CLONE_NEWPID,
    NEWNET: a.CLONE_NEWNET,
    NEWUSER: a.CLONE_NEWUSER,
    NEWCGROUP: a.CLONE_NEWCGROUP,
    NEWTIME: a.CLONE_NEWTIME,
  };
}
