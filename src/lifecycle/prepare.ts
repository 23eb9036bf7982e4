/**
 * create, first half: load + validate + resolve everything into one object,
 * with no side effect (no state dir, no cgroup, no clone, nothing written).
 * `create` executes this very object (create.ts); `tsrun explain` and
 * `create --dry-run` render it (src/plan/explain.ts). What only exists at run
 * time (the init's pid, the cgroup directory fds, the console connection) is
 * not in it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError, describeSystemError } from '../errors';
import type { Globals } from '../cli/types';
import type { Spec } from '../config/types';
import { loadBundleConfig } from '../config/load';
import { getLogger } from '../log/logger';
import { readHostCgroups } from '../plan/host-cgroups';
import { containerDir, EXEC_FIFO, validateId } from '../state/paths';
import { checkHostExtras } from './host-extras';
import type { PreparedSeccomp } from '../seccomp';
import { hasHooks } from '../hooks/run';
import { STATUS_FIFO } from '../hooks/start';
import { buildPlan, initCloneTarget, type InitPlan } from '../plan/build';
import { createSequence, passedFd, pidJoinEarlyReason, type NsSequence } from '../plan/ns-order';
import { checkCallerFds } from '../util/caller-fds';
import { planCgroup, selfJoinTargets, type CgroupPlan, type CgroupRecord } from '../cgroups';
import { containerCgroupView } from '../cgroups/mount-view';

export interface PrepareOptions {
  globals: Globals;
  id: string;
  bundle: string;
  consoleSocket?: string;
  noPivot: boolean;
  preserveFds: number;
  /** runc's detach: create and `run -d` (default true); `run` in the foreground is false. */
  detach?: boolean;
  /** Foreground `run` with a terminal: tsrun opens a console socket of its own (at execute). */
  ownConsole?: boolean;
  /** `tsrun explain`: a terminal gets a console socket, whatever the flags (none are given). */
  assumeConsole?: boolean;
  /** Step boundary callback (create's --debug timing and crash-test kill points). */
  mark?: (step: string) => void;
}

export interface PreparedCreate {
  id: string;
  root: string;
  bundle: string;
  rootfs: string;
  config: Spec;
  /** The config as loaded, for the state record (`exec` takes its defaults from it). */
  savedConfig: Spec;
  warnings: string[];
  /** The console socket create connects to; `own`: tsrun's own (foreground run). */
  console?: { socket: string } | { own: true };
  preserveFds: number;
  noPivot: boolean;
  seccomp?: PreparedSeccomp;
  /** The state directory and fifos create will make (they do not exist yet). */
  stateDir: string;
  fifoPath: string;
  statusFifoPath?: string;
  /** A new user namespace: the init cannot join the host's cgroups itself, tsrun adds its pid after the clone. */
  newUserns: boolean;
  /** The cgroups are made after the clone: a new user namespace, or the systemd driver (its scope starts with the init in it). */
  cgroupAfterClone: boolean;
  cgroup: CgroupPlan;
  /** How the init enters its cgroups itself (clone3 into unifiedDir, "0" into v1 tasks files); undefined: tsrun adds it. */
  join?: ReturnType<typeof selfJoinTargets>;
  /** The namespace sequence (ns-order.ts): clone flags and the staged bootstrap. */
  seq: NsSequence;
  /**
   * The init's plan, built on first use (and kept): create first uses it
   * right after the clone, so building it overlaps the init's start-up, as
   * before prepare and execute were split; explain uses it at once.
   */
  readonly plan: InitPlan;
}

/** Loads, validates and resolves a create. Throws TsrunError; touches nothing. */
export function prepareCreate(opts: PrepareOptions): PreparedCreate {
  validateId(opts.id);
  const log = getLogger();
  const mark = opts.mark ?? (() => {});
  const { config, bundle, rootfs, warnings } = loadBundleConfig(opts.bundle);
  mark('config-loaded');
  const proc = config.process;
  if (!proc) throw new TsrunError('config.json: "process" is required to create a container');
  let consoleChoice: PreparedCreate['console'];
  if (opts.assumeConsole) {
    if (proc.terminal) consoleChoice = { socket: opts.consoleSocket ?? '' };
  } else {
    // runc's rules and wording (utils_linux.go runner.run), which callers match on.
    const detach = opts.detach ?? true;
    if (proc.terminal && detach && !opts.consoleSocket) throw new TsrunError('cannot allocate tty if runc will detach without setting console socket');
    if ((!detach || !proc.terminal) && opts.consoleSocket) throw new TsrunError('cannot use console socket if runc will not detach or allocate tty');
    if (opts.consoleSocket) consoleChoice = { socket: opts.consoleSocket };
    else if (proc.terminal && !detach && opts.ownConsole) consoleChoice = { own: true };
    if (proc.terminal && !consoleChoice) throw new TsrunError('process.terminal: no console socket to send the pty master to');
  }
  // Socket activation as runc: LISTEN_FDS fds (3..) go first, then --preserve-fds more; LISTEN_PID=1 inside.
  const listenFds = listenFdCount();
  const preserveFds = listenFds + opts.preserveFds;
  checkCallerFds(preserveFds, opts.preserveFds);
  const savedConfig = JSON.parse(JSON.stringify(config)) as Spec;
  if (listenFds > 0) proc.env = [...(proc.env ?? []), `LISTEN_FDS=${listenFds}`, 'LISTEN_PID=1'];
  // linux.seccomp: validated and compiled to BPF once, before anything exists.
  const seccomp: PreparedSeccomp | undefined = config.linux?.seccomp
    ? (require('../seccomp') as typeof import('../seccomp')).prepareSeccomp(config, log)
    : undefined;
  checkHostExtras(config);

  const root = opts.globals.root;
  const stateDir = containerDir(root, opts.id);
  const fifoPath = path.join(stateDir, EXEC_FIFO);
  // `start` waits on it for the exec (startContainer result, poststart timing): src/hooks/start.ts.
  const statusFifoPath = hasHooks(config.hooks, 'startContainer', 'poststart') ? path.join(stateDir, STATUS_FIFO) : undefined;
  const target = initCloneTarget(config.linux ?? {});
  const cgroup = planCgroup({
    id: opts.id,
    cgroupsPath: config.linux?.cgroupsPath,
    resources: config.linux?.resources,
    devices: config.linux?.devices,
    systemd: opts.globals.systemdCgroup,
    manager: opts.globals.cgroupManager,
    rootless: opts.globals.rootless === 'true' || (opts.globals.rootless === 'auto' && process.getuid?.() !== 0),
  });
  const prepared: PreparedCreate = {
    id: opts.id,
    root,
    bundle,
    rootfs,
    config,
    savedConfig,
    warnings,
    ...(consoleChoice ? { console: consoleChoice } : {}),
    preserveFds,
    noPivot: opts.noPivot,
    ...(seccomp ? { seccomp } : {}),
    stateDir,
    fifoPath,
    ...(statusFifoPath ? { statusFifoPath } : {}),
    newUserns: target.newUserns,
    cgroupAfterClone: target.newUserns || cgroup.systemd !== undefined,
    cgroup,
    // Placeholders until planFor fills them in.
    seq: createSequence(config.linux ?? {}),
    plan: { cloneFlags: 0, bootstrap: [], stages: [], steps: [], warnings: [] },
  };
  planFor(prepared, cgroup.planned);
  mark('validated');
  return prepared;
}

/**
 * The namespace sequence and the init's plan for the cgroups in `rec`: the
 * planned record at prepare; create calls it again only if the cgroups it
 * made differ from the planned ones (a rootless hierarchy skipped), so the
 * plan binds the container's real cgroups.
 */
export function planFor(p: PreparedCreate, rec: CgroupRecord): void {
  const config = p.config;
  const proc = config.process!;
  // Writing a pid to cgroup.procs takes the kernel's threadgroup lock, whose write side waits an
  // RCU grace period (8-16 ms here). So the init joins its cgroups itself, before anything else:
  // born in the cgroup2 one (clone3 CLONE_INTO_CGROUP) and writing "0" to the v1 "tasks" files
  // (a single thread moving itself skips that lock). In a new user namespace it cannot write the
  // host's cgroup files: then, as runc, the init is cloned first, its cgroups are made meanwhile,
  // and tsrun adds its pid.
  const join = p.cgroupAfterClone ? undefined : selfJoinTargets(rec.paths);
  // The namespace sequence (plan/ns-order.ts); its staged part runs in the addon's bootstrap.
  const pidEarly = pidJoinEarlyReason(config, !!p.seccomp?.steps.needsState, p.noPivot);
  const seq = createSequence(config.linux ?? {}, { joinCgroups: join?.tasksFiles, listener: p.seccomp?.steps.listener, pidEarly });
  const build = (): InitPlan => buildPlan({
    config,
    rootfs: p.rootfs,
    bundle: p.bundle,
    fifoPath: p.fifoPath,
    noPivot: p.noPivot,
    preserveFds: p.preserveFds,
    seccomp: p.seccomp?.steps,
    id: p.id,
    statusFifoPath: p.statusFifoPath,
    console: p.console
      ? { fd: passedFd(p.preserveFds, 0), rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0, foreground: 'own' in p.console }
      : undefined,
    // Before the plan: the container's cgroup mount binds the container's own cgroups (runc).
    cgroups: containerCgroupView(readHostCgroups(), rec),
    joinCgroups: join?.tasksFiles,
    isDirectory: (hostPath) => {
      try {
        return fs.statSync(hostPath).isDirectory();
      } catch (e) {
        throw describeSystemError(`bind mount source ${hostPath}`, e);
      }
    },
  });
  let plan: InitPlan | undefined;
  p.join = join;
  p.seq = seq;
  Object.defineProperty(p, 'plan', { get: () => (plan ??= build()), enumerable: true, configurable: true });
}

/**
 * go-systemd's activation.Files, as runc uses it: LISTEN_FDS counts only when
 * LISTEN_PID names this very process.
 */
export function listenFdCount(env: NodeJS.ProcessEnv = process.env): number {
  if (env.LISTEN_PID !== String(process.pid)) return 0;
  const n = Number(env.LISTEN_FDS);
  return Number.isInteger(n) && n > 0 ? n : 0;
}
