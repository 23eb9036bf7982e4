/**
 * exec: run one more process inside a created or running container, joining
 * all of its namespaces (runc's setns init). The process comes from
 * --process (an OCI process object) or from the container's config.process
 * with the exec flags applied (runc's getProcess).
 *
 * Not detached: the helper is tsrun's own child; tsrun waits for it and
 * exits with its status (128+n for signal n). Detached: the helper is the
 * caller's child (CLONE_PARENT), the pid-file is written, and tsrun exits 0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsrunError, describeSystemError } from '../errors';
import type { Globals } from '../cli/types';
import { loadBundleConfig } from '../config/load';
import type { Process, Spec } from '../config/types';
import { formatValidationError, validateConfig } from '../config/validators';
import { stepClock } from '../log/steps';
import { checkCallerFds } from '../util/caller-fds';
import { getLogger } from '../log/logger';
import { buildExecPlan } from '../plan/exec-plan';
import { Msg } from '../plan/ops';
import { initHelperPath, spawnInit, unixConnect, waitPid } from '../native/addon';
import { closeProcess, openProcess, type ProcessHandle } from '../native/pidfd';
import { passedFd } from '../plan/ns-order';
import { encodePlan } from '../plan/wire';
import { withLock } from '../state/lock';
import { containerStatus } from '../state/status';
import { loadState, type StateRecord } from '../state/store';
import { selfJoinTargets, uniqueDirs } from '../cgroups/dirs';
import { writePidFile } from './create';
import { initError, sendPlan } from './sync';
import { readToEnd } from '../util/read-to-end';
import { prepareSeccomp } from '../seccomp';
import { OwnConsole, drain, proxyTty, type TtyProxy } from './tty-proxy';

export interface ExecOptions {
  globals: Globals;
  id: string;
  proc: Process;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  /** --cgroup: [controller:]path sub-cgroups of the container's cgroup. */
  subCgroups?: string[];
  ignorePaused: boolean;
}

/** The container's config as saved at create (older state: the bundle's config.json). */
export function containerConfig(rec: StateRecord): Spec {
  if (rec.config && typeof rec.config === 'object') return rec.config as Spec;
  return loadBundleConfig(rec.bundle).config;
}

/** runc's validateProcessSpec plus the schema's process definition. */
export function validateProcess(p: unknown, where: string): Process {
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new TsrunError(`${where}: not a JSON object`);
  const errors = validateConfig({ ociVersion: '1.0.0', process: p });
  if (errors.length > 0) throw new TsrunError(`${where}: ${formatValidationError(errors[0])}`);
  const proc = p as Process;
  if (!proc.cwd) throw new TsrunError('cwd property must not be empty');
  if (!path.posix.isAbsolute(proc.cwd)) throw new TsrunError('cwd property must be an absolute path');
  if (!proc.args || proc.args.length === 0) throw new TsrunError('args must not be empty');
  // The schema lets a process omit user; runc then runs it as 0:0.
  if (!proc.user) proc.user = { uid: 0, gid: 0 };
  return proc;
}

/** Reads and validates --process. */
export function readProcessFile(file: string): Process {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw describeSystemError(`read process ${file}`, e);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TsrunError(`process ${file}: ${(e as Error).message}`);
  }
  return validateProcess(doc, `process ${file}`);
}

/**
 * runc's getSubCgroupPaths: `--cgroup path` (every controller) or
 * `--cgroup ctrl[,ctrl]:path`, with runc's errors. Keys: "" or the controller.
 */
export function parseSubCgroups(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args) {
    const i = a.indexOf(':');
    if (i < 0) {
      if (out.has('')) throw new TsrunError('invalid --cgroup argument(s): multiple paths specified');
      out.set('', a);
      continue;
    }
    for (const c of a.slice(0, i).split(',')) {
      if (c === '') throw new TsrunError(`invalid --cgroup argument: ${a} (empty <controller> prefix)`);
      if (out.has(c)) throw new TsrunError(`invalid --cgroup argument(s): controller ${c} specified multiple times`);
      out.set(c, a.slice(i + 1));
    }
  }
  return out;
}

/**
 * The cgroup directories the process joins, by controller ("" = cgroup2):
 * the container's, or a sub-cgroup of it (`--cgroup`, runc's semantics: a
 * path that leaves the container's cgroup is "not a sub cgroup path", a
 * controller the container has no cgroup for is unknown). A controller's own
 * --cgroup wins over a plain one. Empty when the container has no cgroup
 * (created with --cgroup-manager disabled). Exported for tests.
 */
export function cgroupTargets(paths: Record<string, string> | undefined, sub: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const subFor = parseSubCgroups(sub ?? []);
  if (!paths || Object.keys(paths).length === 0) {
    if (subFor.size > 0) throw new TsrunError('--cgroup: the container has no cgroup');
    return out;
  }
  // A v1 hierarchy may be keyed by its joined name ("cpu,cpuacct"): each of its controllers names it.
  const keyOf = new Map<string, string>();
  for (const k of Object.keys(paths)) {
    keyOf.set(k, k);
    for (const c of k.split(',')) if (!keyOf.has(c)) keyOf.set(c, k);
  }
  const perKey = new Map<string, string>();
  for (const [c, rel] of subFor) {
    if (c === '') continue;
    const k = keyOf.get(c);
    if (k === undefined) throw new TsrunError(`unknown controller ${c} in SubCgroupPaths`);
    perKey.set(k, rel);
  }
  for (const [controller, dir] of Object.entries(paths)) {
    const rel = perKey.get(controller) ?? subFor.get('');
    if (rel === undefined || rel === '') {
      out[controller] = dir;
      continue;
    }
    const joined = path.join(dir, rel, '.');
    if (joined !== dir && !joined.startsWith(dir + '/')) throw new TsrunError(`${rel} is not a sub cgroup path`);
    out[controller] = joined;
  }
  return out;
}

/**
 * A sub-cgroup given with --cgroup must exist (tsrun, as runc, never creates it). Checked before
 * anything is spawned so the error is runc's ("error adding pid to cgroups: ... no such file or
 * directory", which callers and runc's suite match) rather than the helper's.
 */
export function checkSubCgroups(paths: Record<string, string> | undefined, targets: Record<string, string>): void {
  for (const [controller, dir] of Object.entries(targets)) {
    if (paths?.[controller] === dir || fs.existsSync(dir)) continue;
    throw new TsrunError(`error adding pid to cgroups: open ${path.join(dir, 'cgroup.procs')}: no such file or directory`, { path: dir, syscall: 'open', errno: -2 });
  }
}

/** Writes pid to the cgroup.procs of `dir` (a cgroup2 directory the helper could not be cloned into). */
function addToCgroup(dir: string, pid: number): void {
  try {
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  } catch (e) {
    throw describeSystemError(`join cgroup ${dir}`, e);
  }
}

/** Waits for EOF (exec happened) or MSG_ERROR on the sync socket. */
function awaitExec(fd: number): void {
  const all = readToEnd(fd, 'exec sync socket');
  if (all.length === 0) return;
  if (all.length >= 8 && all.readUInt32LE(0) === Msg.Error) {
    throw initError('unable to start container process', all.subarray(8, 8 + all.readUInt32LE(4)));
  }
  throw new TsrunError(`exec helper sent an unexpected message (type ${all.length >= 4 ? all.readUInt32LE(0) : '?'})`);
}

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Runs the exec; returns tsrun's exit status. */
export async function execProcess(opts: ExecOptions): Promise<number> {
  checkCallerFds(opts.preserveFds, opts.preserveFds);
  const rec = loadState(opts.globals.root, opts.id);
  const status = containerStatus(opts.globals.root, rec);
  if (status === 'stopped') throw new TsrunError('cannot exec in a stopped container');
  if (status === 'creating') throw new TsrunError('cannot exec in a container that is still being created');
  if (status === 'paused' && !opts.ignorePaused) throw new TsrunError('cannot exec in a paused container (use --ignore-paused to override)');
  const config = containerConfig(rec);
  const proc = opts.proc;
  const log = getLogger();

  if (proc.terminal && opts.detach && !opts.consoleSocket) throw new TsrunError('cannot allocate tty if runc will detach without setting console socket');
  if ((!opts.detach || !proc.terminal) && opts.consoleSocket) throw new TsrunError('cannot use console socket if runc will not detach or allocate tty');

  // args[0] is looked up by the helper inside the container, as the process's user (OP_LOOKPATH).

  let own: OwnConsole | undefined;
  let socket = opts.consoleSocket;
  if (proc.terminal && !socket) {
    own = new OwnConsole();
    socket = own.path;
  }
  // The container's seccomp profile, with this process's no_new_privs deciding where it loads (runc).
  const clock = stepClock('exec');
  const seccomp = prepareSeccomp({ ...config, process: proc }, log);
  clock.mark('state read, seccomp compiled');
  let pid = 0;
  let proxy: TtyProxy | undefined;
  try {
    // As create's init, the helper joins the container's cgroups itself (no RCU grace period,
    // see lifecycle/create.ts): born in the cgroup2 one, writing "0" to the v1 "tasks" files
    // before any setns (it is cloned in the host's namespaces, so it can).
    let targets: Record<string, string>;
    try {
      const own = (rec.cgroup as { paths?: Record<string, string> } | undefined)?.paths;
      targets = cgroupTargets(own, opts.subCgroups);
      checkSubCgroups(own, targets);
    } catch (e) {
      // runc's words around it: "exec failed: unable to create new parent process: .. is not a sub cgroup path".
      if (e instanceof TsrunError) throw new TsrunError(`unable to create new parent process: ${e.message}`, e.context);
      throw e;
    }
    // A paused container's cgroups are frozen: a helper joining them stops at once. It must stop
    // after the lock is released, or `delete --force` would wait on that lock for as long as the
    // container stays paused. So it is added to them below, from here, once the fork is done.
    const joinLater = status === 'paused';
    const { tasksFiles, unifiedDir } = joinLater ? { tasksFiles: [] as string[], unifiedDir: undefined } : selfJoinTargets(targets);
    // Under the container's lock (no delete in between), the init named by a pidfd opened before
    // its start time is checked: the joins can never reach a process that reused its pid.
    const child = withLock(opts.globals.root, opts.id, () => {
      const init: ProcessHandle | null = openProcess(rec.pid, rec.initStartTime);
      if (!init) throw new TsrunError('cannot exec in a stopped container');
      let consoleFd = -1;
      try {
        // runc's order: the console socket is connected here, on the host, and passed as an fd.
        if (proc.terminal && socket) consoleFd = unixConnect(socket);
        const passFds = [...(init.fd >= 0 ? [init.fd] : []), ...(consoleFd >= 0 ? [consoleFd] : [])];
        const plan = buildExecPlan({
          config,
          proc,
          join: init.fd >= 0 ? { pidfd: passedFd(opts.preserveFds, 0) } : { nsDir: `/proc/${rec.pid}/ns` },
          preserveFds: opts.preserveFds,
          seccomp: seccomp?.steps,
          console:
            consoleFd >= 0
              ? { fd: passedFd(opts.preserveFds, passFds.indexOf(consoleFd)), rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0, foreground: own !== undefined }
              : undefined,
          chrootTo: `/proc/${rec.pid}/root`,
          joinCgroups: tasksFiles,
        });
        const spawned = spawnInit({
          initPath: initHelperPath(),
          cloneFlags: 0,
          bootstrap: encodePlan(plan.bootstrap),
          preserveFds: opts.preserveFds,
          passFds,
          // As runc: the process is tsrun's child; with --detach it is orphaned when tsrun exits and
          // the caller's subreaper (containerd's shim, conmon) or pid 1 reaps it. As the caller's own
          // child, a caller that never reaps (a script) would keep its zombie in the container's pid
          // namespace, whose init then cannot finish dying (the kernel waits for every pid of the
          // namespace to be released): delete would time out.
          cloneParent: false,
          ...(unifiedDir ? { intoCgroup: unifiedDir } : {}),
        });
        // Our own child until we reap it: its pid cannot be reused meanwhile.
        if (spawned.pidfd >= 0) fs.closeSync(spawned.pidfd);
        return { ...spawned, steps: plan.steps };
      } finally {
        if (consoleFd >= 0) fs.closeSync(consoleFd);
        closeProcess(init);
      }
    });
    pid = child.pid;
    seccomp?.bind({ ociVersion: config.ociVersion, id: opts.id, status: 'running', pid: rec.pid, processPid: pid, bundle: rec.bundle, annotations: config.annotations });
    try {
      if (unifiedDir && !child.inCgroup) addToCgroup(unifiedDir, pid);
      if (joinLater) for (const [, dir] of uniqueDirs(targets)) addToCgroup(dir, pid);
      clock.mark('joined (cgroups, namespaces, fork)');
      sendPlan(child.syncFd, child.steps);
      awaitExec(child.syncFd);
      clock.mark('process set up and exec\'d');
    } finally {
      fs.closeSync(child.syncFd);
    }
    if (own) {
      try {
        proxy = proxyTty(own.receive().master);
      } finally {
        own.close();
        own = undefined;
      }
    }
  } catch (e) {
    own?.close();
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      if (!opts.detach) await waitPid(pid).catch(() => undefined);
    }
    throw e;
  }
  log.debug('exec started', { id: opts.id, pid, detach: opts.detach });

  // runc writes the pid-file in both modes.
  if (opts.pidFile) writePidFile(opts.pidFile, pid);
  if (opts.detach) return 0;
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* exited */
    }
  };
  for (const s of FORWARDED) process.on(s, forward);
  try {
    const st = await waitPid(pid);
    if (proxy) {
      await drain(proxy);
      proxy.stop();
    }
    return st.signal !== null ? 128 + st.signal : (st.exitCode ?? 0);
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}

