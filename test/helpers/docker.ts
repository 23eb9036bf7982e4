/**
 * A private Docker daemon (Debian's docker.io, dockerd 20.10) for the
 * real-client tests: its own data-root, exec-root, API socket, pidfile and
 * daemon.json (--config-file) under one temp dir; no network set-up
 * (`--iptables=false --ip-masq=false --bridge=none`); its own managed
 * containerd (no --containerd: dockerd starts one with its state under
 * <exec-root>/containerd and its socket there, so it never meets the
 * containerd of test/helpers/containerd.ts); container cgroups under a
 * parent of its own (cgroup-parent), removed at the end.
 *
 * tsrun is registered as a runtime in daemon.json (`runtimes.tsrun.path`);
 * runc is dockerd's built-in default. The shim then calls
 * `<rt> --root <exec-root>/runtime-runc/moby --log <bundle>/log.json --log-format json …`.
 *
 * stop() removes everything even after a failure: containers through the
 * API, the daemon (SIGTERM, then SIGKILL), its containerd and shims (by pid,
 * they mention our dir), whatever the runtimes still hold under
 * <exec-root>/runtime-*, mounts under the dir, the dir, our cgroup parent,
 * and /etc/docker/key.json when this run created it. Temp dirs of a crashed
 * earlier run are swept at construction.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv, sleep } from './tsrun';
import {
  type CmdResult,
  type Runtime,
  RUNTIMES,
  alive,
  forceDeleteAll,
  killPids,
  missingSharedRunDirs,
  pidsMentioning,
  removeCgroupTree,
  rmdirIfEmpty,
  runCmd,
  sweepStaleDirs,
  unmountUnder,
  waitFor,
} from './clients';

const PREFIX = 'tsrun-clients-docker-';
/** dockerd 20.10 writes its trust key here (not under --data-root). */
const KEY_FILE = '/etc/docker/key.json';

function findBin(names: string[]): string | undefined {
  const dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')].filter(Boolean);
  for (const n of names) for (const d of dirs) if (fs.existsSync(path.join(d, n))) return path.join(d, n);
  return undefined;
}

/** dockerd and a docker CLI; the Debian client (same version as the daemon) is preferred. */
export function dockerBinaries(): { dockerd: string; docker: string } | undefined {
  const dockerd = findBin(['dockerd']);
  const docker = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : findBin(['docker']);
  return dockerd && docker ? { dockerd, docker } : undefined;
}

/** Removes the leftovers of a crashed run in `dir` that need the dir's layout. */
function sweepDir(dir: string): void {
  const exec = path.join(dir, 'exec');
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(exec).filter((e) => e.startsWith('runtime-'));
  } catch {
    /* none */
  }
  for (const e of entries) for (const rt of RUNTIMES) forceDeleteAll(rt, path.join(exec, e, 'moby'));
  try {
    const cg = fs.readFileSync(path.join(dir, 'cgroup-parent'), 'utf8').trim();
    if (cg) removeCgroupTree(cg);
  } catch {
    /* none */
  }
}

export class Docker {
  readonly dir: string;
  readonly sock: string;
  readonly log: string;
  readonly cgroupParent: string;
  private readonly bins: { dockerd: string; docker: string };
  private proc?: ChildProcess;
  private env: NodeJS.ProcessEnv;
  private createdRunDirs: string[] = [];
  private createdKey = false;
  private createdEtcDocker = false;

  constructor() {
    const bins = dockerBinaries();
    if (!bins) throw new Error('dockerd or docker not installed (apt-get install docker.io)');
    this.bins = bins;
    sweepStaleDirs(PREFIX, sweepDir);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
    fs.writeFileSync(path.join(this.dir, 'owner.pid'), String(process.pid));
    this.sock = path.join(this.dir, 'docker.sock');
    this.log = path.join(this.dir, 'dockerd.log');
    this.cgroupParent = `tsrun-docker-${process.pid}`;
    fs.writeFileSync(path.join(this.dir, 'cgroup-parent'), this.cgroupParent);
    fs.mkdirSync(path.join(this.dir, 'client'));
    this.env = { ...cleanEnv(), DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: path.join(this.dir, 'client') };
  }

  /** The daemon.json: tsrun registered by absolute path, cgroups under our own parent. */
  daemonJson(): string {
    const tsrun = RUNTIMES.find((r) => r.name === 'tsrun')!;
    return JSON.stringify(
      {
        runtimes: { tsrun: { path: tsrun.bin } },
        'cgroup-parent': this.cgroupParent,
        'log-level': 'info',
        'storage-driver': 'overlay2',
      },
      null,
      2,
    );
  }

  /** Starts dockerd and waits until `docker version` answers. Returns the start-up time in ms. */
  start(): number {
    this.createdRunDirs.push(...missingSharedRunDirs());
    this.createdEtcDocker = !fs.existsSync(path.dirname(KEY_FILE));
    this.createdKey = !fs.existsSync(KEY_FILE);
    const cfg = path.join(this.dir, 'daemon.json');
    fs.writeFileSync(cfg, this.daemonJson());
    const logFd = fs.openSync(this.log, 'a');
    const t0 = Date.now();
    // Not detached: it shares the test's process group, so a runner timeout kills it too.
    this.proc = spawn(
      this.bins.dockerd,
      [
        '--config-file', cfg,
        '--data-root', path.join(this.dir, 'data'),
        '--exec-root', path.join(this.dir, 'exec'),
        '--pidfile', path.join(this.dir, 'docker.pid'),
        '-H', `unix://${this.sock}`,
        '--iptables=false', '--ip-masq=false', '--bridge=none',
      ],
      { stdio: ['ignore', logFd, logFd], env: cleanEnv() },
    );
    fs.closeSync(logFd);
    this.proc.unref();
    const up = waitFor(() => this.proc!.exitCode === null && fs.existsSync(this.sock) && this.docker(['version'], { timeoutMs: 5_000 }).status === 0, 40_000, 100);
    if (!up) {
      const tail = fs.readFileSync(this.log, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`dockerd did not come up in 40 s; log tail:\n${tail}`);
    }
    return Date.now() - t0;
  }

  /** `docker <args>` against this daemon. */
  docker(args: string[], opts: { timeoutMs?: number; input?: string } = {}): CmdResult {
    return runCmd(this.dir, [this.bins.docker, ...args], { env: this.env, timeoutMs: opts.timeoutMs ?? 60_000, input: opts.input });
  }

  /** The full argv of a docker command (for script(1) wrapping). */
  argv(args: string[]): string[] {
    return [this.bins.docker, ...args];
  }

  /** Any command with this daemon's environment (e.g. docker under script(1)). */
  raw(argv: string[], timeoutMs = 60_000): CmdResult {
    return runCmd(this.dir, argv, { env: this.env, timeoutMs });
  }

  /** `docker inspect --format <fmt> <name>` trimmed, or '' */
  inspect(name: string, format: string): string {
    return this.docker(['inspect', '--format', format, name], { timeoutMs: 20_000 }).stdout.trim();
  }

  /** The runtime's log.json of a container (its last lines), for assertion messages. */
  runtimeLog(name: string): string {
    const id = this.inspect(name, '{{.Id}}');
    if (!id) return '';
    const f = path.join(this.dir, 'exec', 'containerd', 'daemon', 'io.containerd.runtime.v2.task', 'moby', id, 'log.json');
    try {
      return `\n  log.json: ${fs.readFileSync(f, 'utf8').trim().split('\n').slice(-3).join('\n    ')}`;
    } catch {
      return '';
    }
  }

  /** The last lines of dockerd's log mentioning `needle` (a container id), for assertion messages. */
  daemonLog(needle: string, lines = 3): string {
    try {
      const hits = fs.readFileSync(this.log, 'utf8').split('\n').filter((l) => l.includes(needle) && /level=(error|warning)/.test(l));
      return hits.length ? `\n  dockerd: ${hits.slice(-lines).join('\n    ')}` : '';
    } catch {
      return '';
    }
  }

  /** Everything goes, whatever state it is in. Safe to call twice. */
  stop(): void {
    if (this.proc && this.proc.exitCode === null && fs.existsSync(this.sock)) {
      const ids = this.docker(['ps', '-aq'], { timeoutMs: 20_000 }).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      if (ids.length) this.docker(['rm', '-f', '-v', ...ids], { timeoutMs: 60_000 });
      this.docker(['volume', 'prune', '-f'], { timeoutMs: 20_000 });
    }
    if (this.proc && this.proc.exitCode === null) {
      const pid = this.proc.pid!;
      killPids([pid], 'SIGTERM');
      if (!waitFor(() => !alive(pid), 15_000, 50)) killPids([pid], 'SIGKILL');
    }
    // Its containerd and the shims (their -address is under our dir), by pid.
    killPids(pidsMentioning(this.dir));
    sleep(50);
    sweepDir(this.dir);
    killPids(pidsMentioning(this.dir));
    unmountUnder(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
    removeCgroupTree(this.cgroupParent);
    if (this.createdKey) fs.rmSync(KEY_FILE, { force: true });
    if (this.createdEtcDocker) rmdirIfEmpty([path.dirname(KEY_FILE)]);
    rmdirIfEmpty(this.createdRunDirs);
  }
}

export type { Runtime };
