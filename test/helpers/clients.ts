/**
 * Shared by the real-client tests (containerd's ctr, podman): the runtimes
 * under test, a command runner that never lets a container hold our pipes,
 * and the clean-up primitives (mounts and processes under a private temp dir).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { controllerOn, host, skip, v1Mount } from './host';
import { TSRUN, cleanEnv, sleep } from './tsrun';

export interface Runtime {
  name: 'runc' | 'tsrun';
  bin: string;
}

function which(name: string, fallbacks: string[]): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return fallbacks.find((f) => fs.existsSync(f)) ?? name;
}

/** runc first (it proves the scenario itself is right), then tsrun. */
export const RUNTIMES: Runtime[] = [
  { name: 'runc', bin: which('runc', ['/usr/sbin/runc']) },
  { name: 'tsrun', bin: TSRUN },
];

/**
 * tsrun features that have not landed yet, with the reason. Scenarios that
 * need one of them are skipped FOR TSRUN ONLY (never for runc), with a loud
 * line on stdout, so work in progress elsewhere does not turn CI red. Remove
 * an entry when the feature lands; TSRUN_CLIENTS_STRICT=1 runs them anyway.
 */
export const PENDING_TSRUN_FEATURES: Record<string, string> = {};

export type Feature = 'exec' | 'cgroups' | 'console-socket' | 'seccomp' | 'pause' | 'ps';

/** The pending reason if this scenario must be skipped for this runtime, else undefined. */
export function pendingReason(rt: Runtime, needs: Feature[] = []): string | undefined {
  if (rt.name !== 'tsrun' || process.env.TSRUN_CLIENTS_STRICT === '1') return undefined;
  const pending = needs.filter((f) => f in PENDING_TSRUN_FEATURES);
  if (pending.length === 0) return undefined;
  return pending.map((f) => `${f}: ${PENDING_TSRUN_FEATURES[f]}`).join('; ');
}

export interface CmdResult {
  status: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  argv: string[];
}

/** Runs a command with stdout/stderr in files (a detached container may inherit them). */
export function runCmd(
  dir: string,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): CmdResult {
  const tag = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const out = path.join(dir, `cmd-${tag}.out`);
  const err = path.join(dir, `cmd-${tag}.err`);
  const fo = fs.openSync(out, 'w');
  const fe = fs.openSync(err, 'w');
  const t0 = Date.now();
  let r;
  try {
    r = spawnSync(argv[0], argv.slice(1), {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', fo, fe],
      input: opts.input,
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
      env: opts.env ?? cleanEnv(),
    });
  } finally {
    fs.closeSync(fo);
    fs.closeSync(fe);
  }
  const res: CmdResult = {
    status: r.status ?? (r.signal ? 128 + 9 : 255),
    signal: r.signal,
    stdout: fs.readFileSync(out, 'utf8'),
    stderr: fs.readFileSync(err, 'utf8') + (r.error ? `\n[spawn: ${r.error.message}]` : ''),
    ms: Date.now() - t0,
    argv,
  };
  fs.rmSync(out, { force: true });
  fs.rmSync(err, { force: true });
  return res;
}

/** One line for assertion messages: the command, its status and its output. */
export function describe(r: CmdResult): string {
  const cmd = r.argv.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return `\n$ ${cmd}\n  exit ${r.status}${r.signal ? ` (${r.signal})` : ''} in ${r.ms} ms\n  stdout: ${r.stdout.trim()}\n  stderr: ${r.stderr.trim()}`;
}

/** Runs `argv` under script(1) so that the client's stdin/stdout is a terminal (ctr -t, podman -t). */
export function withTerminal(argv: string[]): string[] {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['script', '-qefc', quoted, '/dev/null'];
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const real = fs.realpathSync(dir);
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = mp.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (p === real || p.startsWith(real + '/')) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything below `dir` (repeats: one path may be mounted over several times). */
export function unmountUnder(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (let round = 0; round < 5; round++) {
    const mps = mountsUnder(dir);
    if (mps.length === 0) return;
    for (const mp of mps) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
}

/** Pids whose command line mentions `needle` (our private temp dir), excluding ourselves. */
export function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

export function killPids(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export function waitFor(pred: () => boolean, timeoutMs: number, stepMs = 50): boolean {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return true;
    sleep(stepMs);
  }
  return pred();
}

/**
 * Force-deletes every container a runtime still knows under `root` (a test
 * that failed half-way): `list -q` then `delete --force`.
 */
export function forceDeleteAll(rt: Runtime, root: string): void {
  if (!fs.existsSync(root)) return;
  const ls = spawnSync(rt.bin, ['--root', root, 'list', '-q'], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000 });
  for (const id of (ls.stdout ?? '').split('\n').map((s) => s.trim()).filter(Boolean)) {
    spawnSync(rt.bin, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', env: cleanEnv(), timeout: 20_000 });
  }
}

/** Current hard limits (nofile, nproc): what podman may set without CAP_SYS_RESOURCE. */
export function hardLimits(): { nofile: number; nproc: number } {
  // "Max open files            20000                20000                files"
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const hard = (label: string) => {
    const m = new RegExp(`^${label}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(limits);
    return !m || m[2] === 'unlimited' ? 1048576 : Number(m[2]);
  };
  return { nofile: hard('Max open files'), nproc: hard('Max processes') };
}

/** rmdir (never recursive) of the directories we created, deepest first, when they are empty. */
export function rmdirIfEmpty(dirs: string[]): void {
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
    } catch {
      /* not empty, or gone */
    }
  }
}

/** The last `"level":"error"` message of a runtime's JSON log (what containerd's shim reports). */
export function lastJsonLogError(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let last: string | undefined;
  for (const line of text.split('\n')) {
    try {
      const o = JSON.parse(line);
      if (o.level === 'error') last = o.msg;
    } catch {
      /* not JSON */
    }
  }
  return last;
}

/**
 * Temp dirs `<tmpdir>/<prefix>*` of an earlier run whose owner (owner.pid) died
 * (runner timeout, SIGKILL): `before(dir)` (e.g. delete the runtime's containers),
 * then kill what mentions the dir, unmount under it, remove it.
 */
export function sweepStaleDirs(prefix: string, before?: (dir: string) => void): void {
  for (const e of fs.readdirSync(os.tmpdir())) {
    if (!e.startsWith(prefix)) continue;
    const dir = path.join(os.tmpdir(), e);
    let owner = 0;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
    } catch {
      /* half-made */
    }
    if (owner && alive(owner)) continue;
    before?.(dir);
    killPids(pidsMentioning(dir));
    PrivateMountNs.killStale(dir);
    unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** cgroup (v1 and v2) mount points under /sys/fs/cgroup. */
export function cgroupMounts(): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const fstype = post.split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') out.push(pre.split(' ')[4]);
  }
  return out;
}

/** rmdir of an (empty) cgroup subtree `rel` in every hierarchy, deepest first: what a client left behind. */
export function removeCgroupTree(rel: string): void {
  rel = rel.replace(/^\/+/, '');
  if (!rel) return;
  for (const mnt of cgroupMounts()) {
    const top = path.join(mnt, rel);
    const dirs: string[] = [];
    const walk = (d: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      dirs.push(d);
      for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    };
    walk(top);
    rmdirIfEmpty(dirs);
  }
}

/** The cgroup (relative path) of `pid` in the hierarchy that has `controller` (v1), or the v2 one. */
export function cgroupOf(pid: number, controller: string): string | undefined {
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (ctrls !== undefined && ctrls.split(',').includes(controller)) return p;
  }
  return undefined;
}

/**
 * The host path of a cgroup file of `pid` for `controller`, wherever this host
 * has it (test/helpers/host.ts): the v1 file in the controller's hierarchy, or
 * the cgroup2 one in the unified hierarchy. Undefined when the host has the
 * controller in neither or the pid is gone.
 */
export function cgroupFile(pid: number, controller: string, v1File: string, v2File: string): string | undefined {
  const on = controllerOn(controller);
  if (on === 'v1') {
    const cg = cgroupOf(pid, controller);
    return cg === undefined ? undefined : path.join(v1Mount(controller)!, cg, v1File);
  }
  if (on === 'v2') {
    const cg = cgroupOf(pid, '');
    return cg === undefined ? undefined : path.join(host().cgroup.unified!.mountPoint, cg, v2File);
  }
  return undefined;
}

/**
 * Runs `fn` once at the end whatever happens: uvu's after hook, process exit,
 * SIGINT/SIGTERM/SIGHUP, an uncaught error. `fn` must be synchronous.
 */
export function cleanupOnce(fn: () => void): () => void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    try {
      fn();
    } catch (e) {
      console.error('clean-up failed:', e);
    }
  };
  process.on('exit', once);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      once();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
  return once;
}

export const skippedForTsrun: string[] = [];

/**
 * Registers `<runtime>: <name>` with uvu, or — for tsrun only, when it needs a
 * feature listed in PENDING_TSRUN_FEATURES — a test that reports a skip with
 * the reason (one `SKIP:` line, counted by test/run.mjs).
 */
export function scenario(
  t: (name: string, fn: () => void | Promise<void>) => void,
  rt: Runtime,
  name: string,
  needs: Feature[],
  fn: () => void | Promise<void>,
): void {
  const title = `${rt.name}: ${name}`;
  const why = pendingReason(rt, needs);
  if (why) {
    skippedForTsrun.push(`${title}  [${why}]`);
    t(title, () => skip(title, `pending tsrun feature — ${why} (PENDING_TSRUN_FEATURES in test/helpers/clients.ts; TSRUN_CLIENTS_STRICT=1 runs it)`));
    return;
  }
  t(title, fn);
}

/** Prints the pending skips loudly (call from the after hook). */
export function reportSkips(file: string): void {
  if (skippedForTsrun.length === 0) return;
  const bar = '!'.repeat(78);
  console.log(`\n${bar}\n${file}: ${skippedForTsrun.length} scenario(s) SKIPPED FOR TSRUN ONLY (PENDING_TSRUN_FEATURES in test/helpers/clients.ts):`);
  for (const s of skippedForTsrun) console.log(`  - ${s}`);
  console.log(`Run with TSRUN_CLIENTS_STRICT=1 to run them anyway.\n${bar}`);
}

/**
 * A private mount namespace (`unshare -m --propagation private`) held open by
 * a sleeping process, for a client's daemon and commands (`wrap(argv)` runs a
 * command inside it). What the client, its shims and runtimes mount on "the
 * host" — rootfs overlays, and any cgroup hierarchy one of them decides to
 * mount — stays in it and goes with it, instead of changing what later tests
 * and the other runtimes see. A v1 hierarchy mounted in here still binds its
 * controllers for the whole machine while it exists, so close() first empties
 * and unmounts every cgroup hierarchy the host's namespace does not have
 * (undoCgroupMounts), which hands the controllers back.
 * The holder's pid is kept in <dir>/mntns.pid for sweepStaleDirs.
 */
export class PrivateMountNs {
  readonly pid: number;
  private proc: ChildProcess;

  constructor(readonly dir: string) {
    this.proc = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sleep', 'infinity'], { stdio: 'ignore', env: cleanEnv() });
    this.proc.unref();
    if (!this.proc.pid) throw new Error('unshare -m: could not start the mount namespace holder');
    this.pid = this.proc.pid;
    fs.writeFileSync(path.join(dir, 'mntns.pid'), String(this.pid));
    const own = fs.readlinkSync('/proc/self/ns/mnt');
    const ready = waitFor(() => {
      try {
        return fs.readlinkSync(`/proc/${this.pid}/ns/mnt`) !== own && fs.readFileSync(`/proc/${this.pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    }, 10_000, 10);
    if (!ready) {
      killPids([this.pid]);
      throw new Error('unshare -m --propagation private: no private mount namespace after 10 s');
    }
  }

  /** `argv` run inside the namespace (nsenter does not fork for a mount namespace: the pid is the command's). */
  wrap(argv: string[]): string[] {
    return ['nsenter', '-t', String(this.pid), '-m', '--', ...argv];
  }

  /** cgroup v1 hierarchies mounted in the namespace that the host's namespace does not have: `controllers` and mount points. */
  extraCgroupMounts(): { controllers: string; mountPoint: string }[] {
    const keys = (text: string): { controllers: string; mountPoint: string }[] => {
      const out: { controllers: string; mountPoint: string }[] = [];
      for (const line of text.split('\n')) {
        const [pre, post] = line.split(' - ');
        if (!post) continue;
        const [fsType, , opts] = post.split(' ');
        if (fsType !== 'cgroup') continue;
        const controllers = opts.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent=')).sort().join(',');
        out.push({ controllers, mountPoint: pre.split(' ')[4] });
      }
      return out;
    };
    let inside = '';
    try {
      inside = fs.readFileSync(`/proc/${this.pid}/mountinfo`, 'utf8');
    } catch {
      return [];
    }
    const host = new Set(keys(fs.readFileSync('/proc/self/mountinfo', 'utf8')).map((m) => m.controllers));
    return keys(inside).filter((m) => !host.has(m.controllers));
  }

  /**
   * Empties (rmdir, deepest first) and unmounts each cgroup hierarchy mounted
   * in the namespace but not on the host, so the kernel destroys it and its
   * controllers return to where they were. Returns what was undone.
   */
  undoCgroupMounts(): string[] {
    const undone: string[] = [];
    for (const m of this.extraCgroupMounts()) {
      const top = `/proc/${this.pid}/root${m.mountPoint}`;
      const dirs: string[] = [];
      const walk = (d: string): void => {
        let entries: fs.Dirent[] = [];
        try {
          entries = fs.readdirSync(d, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          if (!e.isDirectory()) continue;
          dirs.push(path.join(d, e.name));
          walk(path.join(d, e.name));
        }
      };
      walk(top);
      rmdirIfEmpty(dirs);
      // A removed cgroup stays a child of the root until it is freed (after an RCU grace period); the
      // kernel destroys a hierarchy at its last umount only if the root has no children by then.
      waitFor(() => v1CgroupCount(m.controllers) <= 1, 5_000, 20);
      spawnSync('nsenter', ['-t', String(this.pid), '-m', '--', 'umount', m.mountPoint], { stdio: 'ignore', timeout: 10_000 });
      undone.push(`${m.controllers} at ${m.mountPoint}`);
    }
    return undone;
  }

  /** Undoes cgroup mounts, then ends the holder (the namespace goes with its last process). */
  close(): string[] {
    const extra = alive(this.pid) ? this.extraCgroupMounts().map((m) => m.controllers) : [];
    const undone = alive(this.pid) ? this.undoCgroupMounts() : [];
    killPids([this.pid]);
    releaseV1Hierarchies(extra);
    return undone;
  }

  /** The holder of a crashed earlier run (its pid in <dir>/mntns.pid), if it is still a sleeping holder. */
  static killStale(dir: string): void {
    let pid = 0;
    try {
      pid = Number(fs.readFileSync(path.join(dir, 'mntns.pid'), 'utf8'));
    } catch {
      return;
    }
    try {
      if (pid > 0 && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' && fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== fs.readlinkSync('/proc/self/ns/mnt')) killPids([pid]);
    } catch {
      /* gone */
    }
  }
}

/** /proc/cgroups num_cgroups of the v1 hierarchy holding `controllers` ("net_cls,net_prio"); 0 when not bound to v1. */
function v1CgroupCount(controllers: string): number {
  const first = controllers.split(',').find((c) => !c.startsWith('name='));
  if (!first) return 0;
  const line = fs.readFileSync('/proc/cgroups', 'utf8').split('\n').find((l) => l.split(/\s+/)[0] === first);
  const [, hier, num] = (line ?? '').split(/\s+/);
  return hier && hier !== '0' ? Number(num) : 0;
}

/**
 * Each of `hierarchies` (controller lists) that is still bound to a v1
 * hierarchy although no namespace we know mounts it — its last umount came
 * while a removed child was still being freed, so the kernel kept it — is
 * mounted once more in a throw-away private namespace and unmounted, now
 * childless, which destroys it and returns the controllers. Retries briefly.
 */
export function releaseV1Hierarchies(hierarchies: string[]): void {
  const mounted = new Set(
    fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(' - cgroup ')).flatMap((l) => l.split(' - ')[1].split(' ')[2].split(',')),
  );
  for (const h of hierarchies) {
    const ctrls = h.split(',').filter((c) => !c.startsWith('name='));
    if (ctrls.length === 0 || ctrls.some((c) => mounted.has(c))) continue;
    for (let i = 0; i < 5 && v1CgroupCount(h) > 0; i++) {
      waitFor(() => v1CgroupCount(h) <= 1, 2_000, 20);
      const mp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-cgrelease-'));
      spawnSync('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', 'mount -t cgroup -o "$1" cgroup "$2" && umount "$2"', 'sh', ctrls.join(','), mp], { stdio: 'ignore', timeout: 10_000 });
      fs.rmdirSync(mp);
      waitFor(() => v1CgroupCount(h) === 0, 1_000, 20);
    }
  }
}

/** containerd 1.6 puts shim sockets and ctr's default fifos here whatever its state dir. */
export const SHARED_RUN_DIRS = ['/run/containerd', '/run/containerd/s', '/run/containerd/fifo', '/run/containerd/runc'];

/** The shared run dirs that do not exist yet: a daemon that creates them removes them again. */
export function missingSharedRunDirs(): string[] {
  return SHARED_RUN_DIRS.filter((d) => !fs.existsSync(d));
}
