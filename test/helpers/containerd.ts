/**
 * A private containerd (Debian's package) for the real-client tests: its own
 * root, state, gRPC socket and content under one temp dir, the CRI plugin and
 * everything that needs a network disabled, the overlayfs snapshotter, and
 * `ctr` bound to it. Containers run through the runc shim v2
 * (io.containerd.runc.v2) with `ctr run --runc-binary <runtime>`.
 *
 * Clean-up (stop()) is total even after a failure: every task killed and
 * deleted through containerd, then whatever is left (shims, container
 * processes, runtime state, mounts) removed by hand, then the daemon stopped
 * and the temp dir deleted. Temp dirs of a crashed earlier run are swept at
 * start.
 *
 * The daemon (and so its shims and the runtimes they call) runs in a private
 * mount namespace (PrivateMountNs): its snapshot mounts and any cgroup
 * hierarchy mounted on its side stay there; stop() undoes the latter, so the
 * host's cgroup layout after the tests is the one before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv, sleep } from './tsrun';
import {
  type CmdResult,
  type Runtime,
  PrivateMountNs,
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

const PREFIX = 'tsrun-clients-ctrd-';

/**
 * The config.toml of a private containerd (own root, state, sockets; no snapshotters that need extra
 * setup, no tracing exporters). `cri: false` disables the CRI plugin (it wants CNI and a network);
 * with CRI the caller appends its plugin section.
 */
export function baseConfigToml(dir: string, opts: { cri: boolean }): string {
  const q = JSON.stringify;
  return `version = 2
root = ${q(path.join(dir, 'root'))}
state = ${q(path.join(dir, 'state'))}
disabled_plugins = [
${opts.cri ? '' : '  "io.containerd.grpc.v1.cri",\n'}  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${q(path.join(dir, 'containerd.sock'))}

[ttrpc]
  address = ${q(path.join(dir, 'containerd.sock.ttrpc'))}

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(path.join(dir, 'opt'))}
`;
}

function configToml(dir: string): string {
  return baseConfigToml(dir, { cri: false });
}

export class Containerd {
  readonly dir: string;
  readonly sock: string;
  readonly log: string;
  private proc?: ChildProcess;
  private mntns?: PrivateMountNs;
  private createdRunDirs: string[] = [];
  /** Namespaces used (one per runtime), to sweep at stop(). */
  private namespaces = new Set<string>();
  /** Containers created per namespace. */
  private containers = new Map<string, Set<string>>();

  constructor() {
    sweepStaleDirs(PREFIX);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
    fs.writeFileSync(path.join(this.dir, 'owner.pid'), String(process.pid));
    this.sock = path.join(this.dir, 'containerd.sock');
    this.log = path.join(this.dir, 'containerd.log');
    for (const d of ['fifo', 'tmp']) fs.mkdirSync(path.join(this.dir, d));
  }

  /** Starts the daemon and waits until `ctr version` answers. Returns the start-up time in ms. */
  start(): number {
    this.createdRunDirs.push(...missingSharedRunDirs());
    const cfg = path.join(this.dir, 'config.toml');
    fs.writeFileSync(cfg, configToml(this.dir));
    const logFd = fs.openSync(this.log, 'a');
    const t0 = Date.now();
    this.mntns = new PrivateMountNs(this.dir);
    // Not detached: it shares the test's process group, so a runner timeout kills it too.
    const [cmd, ...argv] = this.mntns.wrap(['containerd', '--config', cfg]);
    this.proc = spawn(cmd, argv, { stdio: ['ignore', logFd, logFd], env: cleanEnv() });
    fs.closeSync(logFd);
    this.proc.unref();
    const up = waitFor(() => fs.existsSync(this.sock) && this.ctr(['version'], { timeoutMs: 5_000 }).status === 0, 30_000, 100);
    if (!up) {
      const tail = fs.readFileSync(this.log, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`containerd did not come up in 30 s; log tail:\n${tail}`);
    }
    return Date.now() - t0;
  }

  /** `ctr --address <sock> [--namespace ns] ...args` */
  ctr(args: string[], opts: { ns?: string; timeoutMs?: number; input?: string } = {}): CmdResult {
    const ns = opts.ns ? ['--namespace', opts.ns] : [];
    return runCmd(this.dir, ['ctr', '--address', this.sock, ...ns, ...args], { timeoutMs: opts.timeoutMs, input: opts.input });
  }

  /** Any command (e.g. ctr under script(1) for -t), with output captured like ctr(). */
  ctrRaw(argv: string[], timeoutMs = 60_000): CmdResult {
    return runCmd(this.dir, argv, { timeoutMs });
  }

  /** The namespace a runtime's containers live in; the shim keeps that runtime's state in /run/containerd/runc/<ns>. */
  ns(rt: Runtime): string {
    const ns = `tsrun-it-${rt.name}-${process.pid}`;
    this.namespaces.add(ns);
    return ns;
  }

  /** A fresh container id, remembered for clean-up. */
  id(ns: string, name: string): string {
    const id = `${name}-${Math.random().toString(36).slice(2, 8)}`;
    if (!this.containers.has(ns)) this.containers.set(ns, new Set());
    this.containers.get(ns)!.add(id);
    return id;
  }

  /**
   * `ctr run --runc-binary <rt> --fifo-dir <private> [flags] <image> <id> [cmd…]`.
   * The shim then calls `<rt> --root /run/containerd/runc/<ns> --log <bundle>/log.json --log-format json …`.
   */
  run(rt: Runtime, ns: string, flags: string[], image: string, id: string, cmd: string[], timeoutMs = 60_000): CmdResult {
    return this.ctr(['run', '--runc-binary', rt.bin, '--fifo-dir', path.join(this.dir, 'fifo'), ...flags, image, id, ...cmd], { ns, timeoutMs });
  }

  /** The shim's bundle dir of a container, where the runtime's --log (log.json) is. */
  bundle(ns: string, id: string): string {
    return path.join(this.dir, 'state', 'io.containerd.runtime.v2.task', ns, id);
  }

  /** Last error line of the runtime's JSON log for that container (if the bundle still exists). */
  runtimeLog(ns: string, id: string): string {
    try {
      return fs.readFileSync(path.join(this.bundle(ns, id), 'log.json'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Kills and deletes one container's task and the container; quiet, for finally blocks. */
  remove(ns: string, id: string): void {
    this.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id], { ns, timeoutMs: 15_000 });
    waitFor(() => !/RUNNING|PAUSED|PAUSING/.test(this.ctr(['task', 'ls'], { ns, timeoutMs: 10_000 }).stdout.split('\n').filter((l) => l.startsWith(id + ' ')).join('')), 5_000, 100);
    this.ctr(['task', 'delete', '--force', id], { ns, timeoutMs: 15_000 });
    this.ctr(['containers', 'delete', id], { ns, timeoutMs: 15_000 });
    this.containers.get(ns)?.delete(id);
  }

  /** Everything started goes, whatever state it is in. Safe to call twice. */
  stop(runtimes: Runtime[]): void {
    if (this.proc && this.proc.exitCode === null && fs.existsSync(this.sock)) {
      for (const ns of this.namespaces) {
        const listed = this.ctr(['containers', 'ls', '-q'], { ns, timeoutMs: 10_000 }).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
        const ids = new Set([...listed, ...(this.containers.get(ns) ?? [])]);
        for (const id of ids) this.remove(ns, id);
        this.ctr(['images', 'rm', '--sync', ...this.ctr(['images', 'ls', '-q'], { ns }).stdout.split('\n').filter(Boolean)], { ns, timeoutMs: 20_000 });
        this.ctr(['namespaces', 'rm', ns], { timeoutMs: 10_000 });
      }
    }
    // Shims and anything else that mentions our dir (the shim's -address), by pid.
    killPids(pidsMentioning(this.dir));
    // Container processes a runtime may still hold under the shim's root.
    for (const ns of this.namespaces) {
      const root = path.join('/run/containerd/runc', ns);
      for (const rt of runtimes) forceDeleteAll(rt, root);
      fs.rmSync(root, { recursive: true, force: true });
      // ctr's default cgroupsPath is /<ns>/<id>; the runtime removes <id>, nobody removes <ns>.
      removeCgroupTree(ns);
    }
    if (this.proc && this.proc.exitCode === null) {
      const pid = this.proc.pid!;
      killPids([pid], 'SIGTERM');
      if (!waitFor(() => !alive(pid), 10_000, 50)) killPids([pid], 'SIGKILL');
    }
    killPids(pidsMentioning(this.dir));
    sleep(50);
    const undone = this.mntns?.close() ?? [];
    if (undone.length) console.log(`  containerd: unmounted cgroup hierarchies mounted in its namespace: ${undone.join('; ')}`);
    unmountUnder(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
    rmdirIfEmpty(this.createdRunDirs);
  }
}

