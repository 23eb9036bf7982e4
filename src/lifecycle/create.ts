/**
 * create: prepare (prepare.ts: validate → resolve the whole plan, no side
 * effect) → execute (here): state dir with a provisional record → cgroups →
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
import { resolveInRoot } from '../config/semantic';
import { getLogger, rfc3339 } from '../log/logger';
import { stepClock, type StepClock } from '../log/steps';
import { spawnInit, mkfifo, initHelperPath, unixConnect, waitPid } from '../native/addon';
import { createContainerDir, currentOwner, writeState, type StateRecord } from '../state/store';
import { readStartTime, sleepSync } from '../state/proc';
import { withLock } from '../state/lock';
import { fastRecord, writeFastRecord } from '../state/fast';
import { hasPrivatePidNs } from './container-cgroup';
import { destroyContainer } from './destroy';
import { applyIntelRdt, moveNetDevices } from './host-extras';
import { awaitReady, sendCommit, sendPlan } from './sync';
import { sendMountFds } from './mount-fds';
import { runHooks, runPoststopHooks, type HookState } from '../hooks/run';
import { exposeFifosToUserns, joinedUsernsMaps, usernsSetup } from '../userns/maps';
import { openProcess, signalSpawned } from '../native/pidfd';
import { encodePlan } from '../plan/wire';
import { makeCgroup as makeCgroupFromPlan, traceWrites, type CgroupHandle, type CgroupRecord, type TracedWrite } from '../cgroups';
import { planFor, prepareCreate, type PreparedCreate } from './prepare';

export { listenFdCount } from './prepare';

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
  clock = stepClock('create');
  const prepared = prepareCreate({ ...opts, ownConsole: opts.ownConsoleSocket !== undefined, mark: killPoint });
  return executeCreate(prepared, opts);
}

/**
 * Tests only: TSRUN_TEST_DUMP_PLAN=<file> makes create write what it executes
 * (the prepared object as `tsrun explain --format json` renders it, with the
 * cgroup writes it really made), so a test can compare the two.
 */
const DUMP_PLAN = process.env.TSRUN_TEST_DUMP_PLAN;

/** create, second half: executes what prepareCreate resolved (lifecycle/prepare.ts). */
export function executeCreate(prepared: PreparedCreate, opts: CreateOptions): Created {
  const log = getLogger();
  const { config, bundle, rootfs } = prepared;
  const proc = config.process!;
  for (const w of prepared.warnings) log.warn(w);
  // args[0] is looked up by the init, inside the container, once its mounts exist (OP_LOOKPATH).
  ensureCwd(rootfs, proc.cwd);
  const seccomp = prepared.seccomp;
  const consoleSocket = prepared.console && ('own' in prepared.console ? opts.ownConsoleSocket?.() : prepared.console.socket);
  // Before anything exists (the scope itself is started after the clone; prepare checked the cgroupsPath).
  if (prepared.cgroup.systemd) {
    const sd = require('../cgroups/systemd') as typeof import('../cgroups/systemd');
    if (!sd.systemdRunning()) throw new TsrunError(sd.ERR_NO_SYSTEMD);
  }
  let cgroupWrites: TracedWrite[] | undefined;

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
      const fifo = prepared.fifoPath;
      mkfifo(fifo, 0o600);
      killPoint('exec-fifo');
      const statusFifo = prepared.statusFifoPath;
      if (statusFifo) mkfifo(statusFifo, 0o600);
      const userns = (config.linux?.namespaces ?? []).find((n) => n.type === 'user');
      // A joined one: the helper becomes its root too (namespaces.c), with that namespace's maps.
      const joinedMaps = userns?.path ? joinedUsernsMaps(userns.path) : undefined;
      if (userns && (!userns.path || joinedMaps)) {
        exposeFifosToUserns(opts.globals.root, dir, statusFifo ? [fifo, statusFifo] : [fifo], joinedMaps?.uid ?? config.linux?.uidMappings, joinedMaps?.gid ?? config.linux?.gidMappings);
        killPoint('userns-fifos');
      }
      const makeCgroup = (initPid?: number): CgroupHandle => {
        // The systemd driver starts its scope with the init in it.
        if (initPid !== undefined) prepared.cgroup.spec.pid = initPid;
        prepared.cgroup.spec.onPlanned = (planned) => {
          provisional.cgroup = planned;
          writeState(dir, provisional);
          killPoint('cgroup-planned');
        };
        let made: CgroupHandle | undefined;
        const run = () => {
          made = makeCgroupFromPlan(prepared.cgroup);
        };
        if (DUMP_PLAN) cgroupWrites = traceWrites(run);
        else run();
        const handle = made!;
        for (const w of handle.warnings) log.warn(w);
        provisional.cgroup = handle.record;
        killPoint('cgroup-made');
        // An init joining a frozen cgroup stops in the kernel and create would wait forever (runc's check).
        try {
          refuseFrozen(handle.record);
        } catch (e) {
          handle.destroy();
          throw e;
        }
        return handle;
      };
      // The init joins its cgroups itself (prepare.ts planFor), except in a new user namespace
      // and with the systemd driver.
      if (!prepared.cgroupAfterClone) cg = makeCgroup();
      // A rootless hierarchy skipped: the plan is made again for the cgroups that exist.
      if (cg && !samePaths(cg.record, prepared.cgroup.planned)) planFor(prepared, cg.record);
      const join = prepared.join;
      const seq = prepared.seq;
      // runc's order: the console socket is connected here, on the host, and passed as an fd.
      const consoleFd = proc.terminal && consoleSocket ? unixConnect(consoleSocket) : -1;
      let child: ReturnType<typeof spawnInit>;
      try {
        child = spawnInit({
          initPath: initHelperPath(),
          cloneFlags: seq.cloneFlags,
          ...(seq.bootstrap.length > 0 ? { bootstrap: encodePlan(seq.bootstrap) } : {}),
          preserveFds: prepared.preserveFds,
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
      if (!cg) {
        cg = makeCgroup(pid);
        // The namespaces are entered already: only the cgroup mount binds can change.
        if (!samePaths(cg.record, prepared.cgroup.planned)) planFor(prepared, cg.record);
      }
      const plan = prepared.plan;
      for (const w of plan.warnings) log.warn(w);
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
      if (DUMP_PLAN) dumpPlan(DUMP_PLAN, prepared, cgroupWrites ?? []);
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
        }, (forked) => {
          // A pid namespace joined by path (ns-order.ts "late pid"): until now `pid` was the
          // intermediate, which has pivoted and now exits; the child waits until we hold it.
          const h = openProcess(forked);
          if (!h) throw new TsrunError(`container init (pid ${forked}) exited right after it entered the pid namespace`);
          const intermediate = pid;
          if (pidfd >= 0) fs.closeSync(pidfd);
          pid = forked;
          pidfd = h.fd;
          if (!child.cloneParent) void waitPid(intermediate).catch(() => undefined);
          provisional.pid = pid;
          provisional.initStartTime = readStartTime(pid) ?? '';
          writeState(dir, provisional);
          hookState = { ...hookState!, pid };
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
        config: prepared.savedConfig,
      };
      writeState(dir, record);
      // After the final record: the launcher's fast path answers kill/delete from the two.
      writeFastRecord(dir, fastRecord(record, hasPrivatePidNs(record), prepared.savedConfig.hooks?.poststop?.length ?? 0));
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

/** Whether the cgroups made are the planned ones (rootless may skip a hierarchy). */
function samePaths(made: CgroupRecord, planned: CgroupRecord): boolean {
  const a = Object.entries(made.paths).sort();
  const b = Object.entries(planned.paths).sort();
  return a.length === b.length && a.every(([k, v], i) => b[i][0] === k && b[i][1] === v);
}

/** TSRUN_TEST_DUMP_PLAN: the executed plan, rendered as `tsrun explain --format json`. */
function dumpPlan(file: string, prepared: PreparedCreate, cgroupWrites: TracedWrite[]): void {
  const { explainJson } = require('../plan/explain') as typeof import('../plan/explain');
  fs.writeFileSync(file, JSON.stringify(explainJson(prepared, cgroupWrites), null, 2) + '\n');
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
