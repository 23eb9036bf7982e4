/**
 * create: validate → plan → state dir with a provisional record → cgroups →
 * clone the sealed init → send the plan → READY → state and pid-file →
 * COMMIT. Any failure rolls back: the init is killed, its cgroups and the
 * state dir removed, nothing is left behind. A create that is killed itself
 * leaves a record (`creating`, its own pid and start time, the init's pid
 * and cgroup paths as soon as they exist) that `delete` finds, and an init
 * that exits by itself (EOF on the sync socket before COMMIT).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError, describeSystemError } from '../errors';
import type { Globals } from '../cli/types';
import { loadBundleConfig } from '../config/load';
import { resolveInRoot } from '../config/semantic';
import { getLogger, rfc3339 } from '../log/logger';
import { stepClock, type StepClock } from '../log/steps';
import { readHostCgroups } from '../plan/host-cgroups';
import { spawnInit, mkfifo, initHelperPath, unixConnect } from '../native/addon';
import { createContainerDir, currentOwner, writeState, type StateRecord } from '../state/store';
import { EXEC_FIFO, validateId } from '../state/paths';
import { readStartTime, sleepSync } from '../state/proc';
import { withLock } from '../state/lock';
import { destroyContainer } from './destroy';
import { applyIntelRdt, checkHostExtras, moveNetDevices } from './host-extras';
import { awaitReady, sendCommit, sendPlan } from './sync';
import { sendMountFds } from './mount-fds';
import type { PreparedSeccomp } from '../seccomp';
import { hasHooks, runHooks, runPoststopHooks, type HookState } from '../hooks/run';
import { STATUS_FIFO } from '../hooks/start';
import { exposeFifosToUserns, usernsSetup } from '../userns/maps';
import { CLONE, buildPlan, initCloneTarget } from '../plan/build';
import { createSequence, passedFd } from '../plan/ns-order';
import { signalSpawned } from '../native/pidfd';
import { encodePlan } from '../plan/wire';
import { prepareCgroup, selfJoinTargets, type CgroupHandle, type CgroupRecord } from '../cgroups';
import { containerCgroupView } from '../cgroups/mount-view';

export interface CreateOptions {
  globals: Globals;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  preserveFds: number;
  /** runc's detach: create and `run -d` (default true); `run` in the foreground is false. */
  detach?: boolean;
  /** Internal: opens a console socket tsrun itself listens on (foreground `run` with a terminal); returns its path. */
  ownConsoleSocket?: () => string;
  /** Make the init the caller's child (CLONE_PARENT); `run` in the foreground waits for it itself. */
  cloneParent: boolean;
}

export interface Created {
  pid: number;
  dir: string;
  record: StateRecord;
  /** Whether the init really is the caller's child (false when it is ours). */
  cloneParent: boolean;
}

/**
 * Tests only: TSRUN_TEST_KILL_AT=<point> makes create SIGKILL itself at that
 * named point (test/integration/crashsafe.test.ts), as a crash or an
 * impatient caller would.
 */
const KILL_AT = process.env.TSRUN_TEST_KILL_AT;

/** Step timing for --debug (log/steps.ts): each named point logs the time since the previous one. */
let clock: StepClock | undefined;

/** A named step boundary of create: timed with --debug, a kill point for the crash tests. */
function killPoint(name: string): void {
  clock?.mark(name);
  if (KILL_AT !== name) return;
  process.kill(process.pid, 'SIGKILL');
  for (;;) sleepSync(1000);
}

export function createContainer(opts: CreateOptions): Created {
  validateId(opts.id);
  const log = getLogger();
  clock = stepClock('create');
  const { config, bundle, rootfs, warnings } = loadBundleConfig(opts.bundle);
  killPoint('config-loaded');
  for (const w of warnings) log.warn(w);
  const proc = config.process;
  if (!proc) throw new TsrunError('config.json: "process" is required to create a container');
  // runc's rules and wording (utils_linux.go runner.run), which callers match on.
  const detach = opts.detach ?? true;
  if (proc.terminal && detach && !opts.consoleSocket) throw new TsrunError('cannot allocate tty if runc will detach without setting console socket');
  if ((!detach || !proc.terminal) && opts.consoleSocket) throw new TsrunError('cannot use console socket if runc will not detach or allocate tty');
  const consoleSocket = opts.consoleSocket ?? (proc.terminal && !detach ? opts.ownConsoleSocket?.() : undefined);
  if (proc.terminal && !consoleSocket) throw new TsrunError('process.terminal: no console socket to send the pty master to');
  // Socket activation as runc: LISTEN_FDS fds (3..) go first, then --preserve-fds more; LISTEN_PID=1 inside.
  const listenFds = listenFdCount();
  const preserveFds = listenFds + opts.preserveFds;
  const savedConfig = JSON.parse(JSON.stringify(config)) as typeof config;
  if (listenFds > 0) proc.env = [...(proc.env ?? []), `LISTEN_FDS=${listenFds}`, 'LISTEN_PID=1'];
  // args[0] is looked up by the init, inside the container, once its mounts exist (OP_LOOKPATH).
  ensureCwd(rootfs, proc.cwd);
  // linux.seccomp: validated and compiled to BPF once, before anything exists.
  const seccomp: PreparedSeccomp | undefined = config.linux?.seccomp
    ? (require('../seccomp') as typeof import('../seccomp')).prepareSeccomp(config, log)
    : undefined;
  checkHostExtras(config);
  killPoint('validated');

  return withLock(opts.globals.root, opts.id, () => {
    killPoint('locked');
    const dir = createContainerDir(opts.globals.root, opts.id);
    killPoint('state-dir');
    // The provisional record, before anything else exists: whoever finds it after
    // this process died (`delete`) knows what to remove. Rewritten as things appear.
    const creatorStart = readStartTime(process.pid);
    const provisional: StateRecord = {
      ociVersion: config.ociVersion,
      id: opts.id,
      pid: 0,
      initStartTime: '',
      bundle,
      rootfs,
      created: rfc3339(),
      owner: currentOwner(),
      annotations: config.annotations ?? {},
      creating: { pid: process.pid, startTime: creatorStart ?? '' },
    };
    let pid = 0;
    let pidfd = -1;
    let syncFd = -1;
    let cg: CgroupHandle | undefined;
    let hookState: HookState | undefined;
    try {
      writeState(dir, provisional);
      killPoint('provisional');
      const fifo = path.join(dir, EXEC_FIFO);
      mkfifo(fifo, 0o600);
      killPoint('exec-fifo');
      // `start` waits on it for the exec (startContainer result, poststart timing): src/hooks/start.ts.
      const statusFifo = hasHooks(config.hooks, 'startContainer', 'poststart') ? path.join(dir, STATUS_FIFO) : undefined;
      if (statusFifo) mkfifo(statusFifo, 0o600);
      if ((config.linux?.namespaces ?? []).some((n) => n.type === 'user' && !n.path)) {
        exposeFifosToUserns(opts.globals.root, dir, statusFifo ? [fifo, statusFifo] : [fifo], config.linux?.uidMappings, config.linux?.gidMappings);
        killPoint('userns-fifos');
      }
      const target = initCloneTarget(config.linux ?? {});
      const makeCgroup = (): CgroupHandle => {
        const made = prepareCgroup({
          id: opts.id,
          cgroupsPath: config.linux?.cgroupsPath,
          resources: config.linux?.resources,
          devices: config.linux?.devices,
          systemd: opts.globals.systemdCgroup,
          manager: opts.globals.cgroupManager,
          rootless: opts.globals.rootless === 'true' || (opts.globals.rootless === 'auto' && process.getuid?.() !== 0),
          onPlanned: (planned) => {
            provisional.cgroup = planned;
            writeState(dir, provisional);
            killPoint('cgroup-planned');
          },
        });
        for (const w of made.warnings) log.warn(w);
        provisional.cgroup = made.record;
        killPoint('cgroup-made');
        // An init joining a frozen cgroup stops in the kernel and create would wait forever (runc's check).
        try {
          refuseFrozen(made.record);
        } catch (e) {
          made.destroy();
          throw e;
        }
        return made;
      };
      // Writing a pid to cgroup.procs takes the kernel's threadgroup lock, whose write side waits an
      // RCU grace period (8-16 ms here). So the init joins its cgroups itself, before anything else:
      // born in the cgroup2 one (clone3 CLONE_INTO_CGROUP) and writing "0" to the v1 "tasks" files
      // (a single thread moving itself skips that lock). In a new user namespace it cannot write the
      // host's cgroup files: then, as runc, the init is cloned first, its cgroups are made meanwhile,
      // and tsrun adds its pid.
      if ((target.cloneFlags & CLONE.NEWUSER) === 0) cg = makeCgroup();
      const join = cg && selfJoinTargets(cg.record.paths);
      // The namespace sequence (plan/ns-order.ts); its staged part runs in the addon's bootstrap.
      const seq = createSequence(config.linux ?? {}, { joinCgroups: join?.tasksFiles, listener: seccomp?.steps.listener });
      // runc's order: the console socket is connected here, on the host, and passed as an fd.
      const consoleFd = proc.terminal && consoleSocket ? unixConnect(consoleSocket) : -1;
      let child: ReturnType<typeof spawnInit>;
      try {
        child = spawnInit({
          initPath: initHelperPath(),
          cloneFlags: seq.cloneFlags,
          ...(seq.bootstrap.length > 0 ? { bootstrap: encodePlan(seq.bootstrap) } : {}),
          preserveFds,
          ...(consoleFd >= 0 ? { passFds: [consoleFd] } : {}),
          cloneParent: opts.cloneParent,
          ...(join?.unifiedDir ? { intoCgroup: join.unifiedDir } : {}),
          ...(seq.newUserns ? usernsSetup(config.linux?.uidMappings, config.linux?.gidMappings) : {}),
        });
      } finally {
        if (consoleFd >= 0) fs.closeSync(consoleFd);
      }
      pid = child.pid;
      pidfd = child.pidfd;
      syncFd = child.syncFd;
      killPoint('spawned');
      // Without a start time the init is already gone (its error is on the socket): nothing to record.
      const spawnedStart = readStartTime(pid);
      if (spawnedStart !== null) {
        provisional.pid = pid;
        provisional.initStartTime = spawnedStart;
        writeState(dir, provisional);
      }
      killPoint('init-recorded');
      // Before the plan: the container's cgroup mount binds the container's own cgroups (runc).
      cg ??= makeCgroup();
      const plan = buildPlan({
        config,
        rootfs,
        bundle,
        fifoPath: fifo,
        noPivot: opts.noPivot,
        preserveFds,
        seccomp: seccomp?.steps,
        id: opts.id,
        statusFifoPath: statusFifo,
        console:
          proc.terminal && consoleSocket
            ? { fd: passedFd(preserveFds, 0), rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0, foreground: !opts.consoleSocket }
            : undefined,
        cgroups: containerCgroupView(readHostCgroups(), cg.record),
        joinCgroups: join?.tasksFiles,
        isDirectory: (p) => {
          try {
            return fs.statSync(p).isDirectory();
          } catch (e) {
            throw describeSystemError(`bind mount source ${p}`, e);
          }
        },
      });
      killPoint('plan-built');
      if (!join) cg.addProcess(pid);
      else if (join.unifiedDir && !child.inCgroup) cg.addProcess(pid, true); // kernel without CLONE_INTO_CGROUP
      killPoint('cgroup-joined');
      seccomp?.bind({ ociVersion: config.ociVersion, id: opts.id, status: 'creating', pid, bundle, annotations: config.annotations });
      // HOOK(rootless cgroups): an unprivileged caller writes only delegated cgroups (src/cgroups).
      hookState = { ociVersion: config.ociVersion, id: opts.id, status: 'creating', pid, bundle, annotations: config.annotations ?? {} };
      // From the host while the init waits for its plan: nothing of the container runs yet.
      moveNetDevices(config, pid);
      applyIntelRdt(config, opts.id, pid, dir);
      killPoint('host-extras');
      sendPlan(syncFd, plan.steps);
      killPoint('plan-sent');
      // idmap mounts with a user namespace: idmapped trees made here, attached by the init.
      const sendError = sendMountFds(plan.steps, syncFd, pid);
      killPoint('mount-fds');
      try {
        awaitReady(syncFd, () => {
          killPoint('runtime-hooks');
          // runc's order: prestart (deprecated) right before createRuntime, both in the runtime namespace.
          runHooks('prestart', config.hooks, hookState!);
          runHooks('createRuntime', config.hooks, hookState!);
          killPoint('runtime-hooks-done');
        });
      } catch (e) {
        // The init was killed because a mount fd could not be sent: unless it said why itself, that is why.
        throw sendError && e instanceof TsrunError && /before it was ready|in the middle of a message/.test(e.message) ? sendError : e;
      }
      if (sendError) throw sendError;
      killPoint('ready');
      const initStartTime = readStartTime(pid);
      if (initStartTime === null) throw new TsrunError(`container init (pid ${pid}) exited right after it was ready`);
      const record: StateRecord = {
        ociVersion: config.ociVersion,
        id: opts.id,
        pid,
        initStartTime,
        bundle,
        rootfs,
        created: rfc3339(),
        owner: currentOwner(),
        annotations: config.annotations ?? {},
        cloneParent: child.cloneParent,
        cgroup: cg.record,
        // `exec` takes the namespaces, capabilities and process defaults from here.
        config: savedConfig,
      };
      writeState(dir, record);
      killPoint('state-written');
      if (opts.pidFile) writePidFile(opts.pidFile, pid);
      killPoint('pid-file');
      // Two-phase READY: only now, with the container recorded, may the init wait on the
      // exec fifo; had we died before this, it would have read EOF and exited.
      sendCommit(syncFd);
      killPoint('committed');
      fs.closeSync(syncFd);
      syncFd = -1;
      log.debug(`created container ${opts.id} with init pid ${pid}`);
      return { pid, dir, record, cloneParent: child.cloneParent };
    } catch (e) {
      if (syncFd >= 0) fs.closeSync(syncFd);
      if (pid > 0) {
        try {
          signalSpawned(pid, pidfd, 9);
        } catch {
          /* already gone */
        }
      }
      try {
        cg?.destroy();
      } catch (cleanup) {
        log.warn(`rollback: ${(cleanup as Error).message}`);
      }
      destroyContainer(opts.globals.root, opts.id, pid > 0 ? pid : undefined);
      // runtime.md: a failed create continues at step 12 (destroy), then 13 (poststop hooks, warnings only).
      if (hookState) runPoststopHooks(config.hooks, { ...hookState, status: 'stopped' }, (m) => log.warn(m));
      throw e;
    } finally {
      if (pidfd >= 0) fs.closeSync(pidfd);
    }
  });
}

/**
 * runc's check: an init joining a frozen cgroup (v1 freezer FROZEN/FREEZING, a
 * v2 cgroup.freeze of 1, or a frozen ancestor) stops in the kernel before it
 * can answer, so create refuses before it joins. A pre-existing cgroupsPath
 * may be frozen; a new cgroup is frozen under a frozen parent.
 */
function refuseFrozen(rec: CgroupRecord): void {
  const read = (dir: string, file: string): string => {
    try {
      return fs.readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return '';
    }
  };
  const v1 = rec.paths.freezer;
  const v2 = rec.paths[''];
  const frozen =
    (v1 !== undefined && /^(FROZEN|FREEZING)$/.test(read(v1, 'freezer.state').trim())) ||
    (v2 !== undefined && (read(v2, 'cgroup.freeze').trim() === '1' || /^frozen 1$/m.test(read(v2, 'cgroup.events'))));
  if (frozen) throw new TsrunError("container's cgroup unexpectedly frozen");
}

/** runc's createPidFile: a temp file in the same directory, then rename. */
export function writePidFile(pidFile: string, pid: number): void {
  const abs = path.resolve(pidFile);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}`);
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_SYNC, 0o644);
    try {
      fs.writeSync(fd, String(pid));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, abs);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* nothing to clean */
    }
    throw describeSystemError(`write pid file ${abs}`, e);
  }
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

/** runc creates a missing cwd inside the rootfs; symlinks stay confined to it. */
function ensureCwd(rootfs: string, cwd: string): void {
  const host = resolveInRoot(rootfs, cwd);
  if (fs.existsSync(host)) return;
  try {
    fs.mkdirSync(host, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw describeSystemError(`create cwd ${cwd}`, e);
  }
}
