/**
 * The Kubernetes path without a kubelet: a private containerd (Debian's 1.6)
 * with its CRI plugin enabled — own root, state, gRPC socket and config.toml
 * under one temp dir — and a small CRI client (gRPC over the unix socket,
 * @grpc/grpc-js + test/fixtures/cri/api.proto, the subset of runtime.v1 the
 * tests use).
 *
 * config.toml registers two runtime handlers of the runc shim v2: `runc`
 * (kept as default_runtime_name, so CRI loads) and `tsrun` (BinaryName), each
 * with a --root of its own under the temp dir. `restrict_oom_score_adj = true`
 * because root lacks CAP_SYS_RESOURCE here (without it the sandbox's
 * oom_score_adj -998 cannot be set). There is no registry: the sandbox
 * ("pause") image is the busybox rootfs with `sleep 2147483647` as its command,
 * imported with `ctr -n k8s.io images import`, and named in sandbox_image.
 * There is no CNI plugin either: pods use the node's network namespace
 * (NamespaceOption.network = NODE), for which CRI needs none.
 *
 * stop() removes every pod through CRI, then whatever is left by hand
 * (shims, runtime state, mounts, the cgroup parent), stops the daemon and
 * deletes the temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO, cleanEnv, sleep } from './tsrun';
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
import { buildBusyboxImage } from './oci-image';
import { baseConfigToml } from './containerd';

const PREFIX = 'tsrun-clients-cri-';
export const CRI_IMAGE = 'localhost/tsrun-busybox:latest';
export const PAUSE_IMAGE = 'localhost/tsrun-pause:latest';
const PROTO = path.join(REPO, 'test/fixtures/cri/api.proto');

/** The runtime's --root for a handler (the shim's `Root` option). */
function runtimeRoot(dir: string, rt: Runtime): string {
  return path.join(dir, `root-${rt.name}`);
}

export function criConfigToml(dir: string): string {
  const q = JSON.stringify;
  const handlers = RUNTIMES.map(
    (rt) => `
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${rt.name}]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${rt.name}.options]
        BinaryName = ${q(rt.bin)}
        Root = ${q(runtimeRoot(dir, rt))}
        SystemdCgroup = false`,
  ).join('\n');
  return `${baseConfigToml(dir, { cri: true })}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(PAUSE_IMAGE)}
  # Root lacks CAP_SYS_RESOURCE on some hosts (VMs, nested containers): never ask for a lower oom_score_adj than ours.
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
${handlers}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(path.join(dir, 'cni', 'bin'))}
    conf_dir = ${q(path.join(dir, 'cni', 'conf'))}
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ${q(path.join(dir, 'certs.d'))}
`;
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type Rpc = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => void;

/** One CRI call: resolves with the response, rejects with the gRPC status and details. */
function call<T>(client: grpc.Client, method: string, req: unknown, timeoutMs = 60_000): Promise<T> {
  const fn = (client as unknown as Record<string, Rpc>)[method];
  if (typeof fn !== 'function') throw new Error(`no CRI method ${method}`);
  return new Promise<T>((resolve, reject) => {
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(new Error(`CRI ${method}: ${err.code} ${err.details || err.message}`));
      else resolve(res as T);
    });
  });
}

export interface PodSpec {
  name: string;
  rt: Runtime;
}

export class Cri {
  readonly dir: string;
  readonly sock: string;
  readonly log: string;
  readonly cgroupParent: string;
  private proc?: ChildProcess;
  private runtime?: grpc.Client;
  private createdRunDirs: string[] = [];
  readonly pods = new Set<string>();

  constructor() {
    sweepStaleDirs(PREFIX, (dir) => {
      for (const rt of RUNTIMES) forceDeleteAll(rt, runtimeRoot(dir, rt));
      try {
        removeCgroupTree(fs.readFileSync(path.join(dir, 'cgroup-parent'), 'utf8').trim());
      } catch {
        /* none */
      }
    });
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
    fs.writeFileSync(path.join(this.dir, 'owner.pid'), String(process.pid));
    this.sock = path.join(this.dir, 'containerd.sock');
    this.log = path.join(this.dir, 'containerd.log');
    this.cgroupParent = `/tsrun-cri-${process.pid}`;
    fs.writeFileSync(path.join(this.dir, 'cgroup-parent'), this.cgroupParent);
    for (const d of ['cni/bin', 'cni/conf', 'certs.d', 'logs']) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
  }

  /** Starts containerd, imports the images, connects the client. Returns the start-up time in ms. */
  start(): number {
    this.createdRunDirs.push(...missingSharedRunDirs());
    const cfg = path.join(this.dir, 'config.toml');
    fs.writeFileSync(cfg, criConfigToml(this.dir));
    const logFd = fs.openSync(this.log, 'a');
    const t0 = Date.now();
    this.proc = spawn('containerd', ['--config', cfg], { stdio: ['ignore', logFd, logFd], env: cleanEnv() });
    fs.closeSync(logFd);
    this.proc.unref();
    const up = waitFor(() => this.proc!.exitCode === null && fs.existsSync(this.sock) && this.ctr(['version'], { timeoutMs: 5_000 }).status === 0, 30_000, 100);
    if (!up) throw new Error(`containerd (CRI) did not come up in 30 s; log tail:\n${this.logTail()}`);
    const img = buildBusyboxImage(path.join(this.dir, 'image'), CRI_IMAGE);
    const pause = buildBusyboxImage(path.join(this.dir, 'pause'), PAUSE_IMAGE, ['sleep', '2147483647']);
    for (const tar of [img.ociTar, pause.ociTar]) {
      const r = this.ctr(['images', 'import', tar], { ns: 'k8s.io' });
      if (r.status !== 0) throw new Error(`ctr images import ${tar}: ${r.stderr}`);
    }
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: Record<string, grpc.ServiceClientConstructor> } };
    this.runtime = new pkg.runtime.v1.RuntimeService(`unix:${this.sock}`, grpc.credentials.createInsecure());
    return Date.now() - t0;
  }

  logTail(n = 20): string {
    try {
      return fs.readFileSync(this.log, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  }

  ctr(args: string[], opts: { ns?: string; timeoutMs?: number } = {}): CmdResult {
    const ns = opts.ns ? ['--namespace', opts.ns] : [];
    return runCmd(this.dir, ['ctr', '--address', this.sock, ...ns, ...args], { timeoutMs: opts.timeoutMs });
  }

  /** A RuntimeService call. */
  rpc<T = Record<string, unknown>>(method: string, req: unknown, timeoutMs?: number): Promise<T> {
    if (!this.runtime) throw new Error('CRI client not connected (start() first)');
    return call<T>(this.runtime, method, req, timeoutMs);
  }

  /** The PodSandboxConfig of a host-network pod (no CNI here). */
  sandboxConfig(name: string): Record<string, unknown> {
    return {
      metadata: { name, uid: `${name}-uid`, namespace: 'tsrun-it', attempt: 0 },
      hostname: '',
      log_directory: path.join(this.dir, 'logs', name),
      linux: {
        cgroup_parent: this.cgroupParent,
        security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } },
      },
    };
  }

  /** RunPodSandbox with a runtime handler; returns the sandbox id and its config. */
  async runPod(rt: Runtime, name: string): Promise<{ id: string; config: Record<string, unknown> }> {
    const config = this.sandboxConfig(name);
    fs.mkdirSync(config.log_directory as string, { recursive: true });
    const r = await this.rpc<{ pod_sandbox_id: string }>('RunPodSandbox', { config, runtime_handler: rt.name });
    this.pods.add(r.pod_sandbox_id);
    return { id: r.pod_sandbox_id, config };
  }

  /** Stops and removes a pod and everything in it; quiet, for finally blocks. */
  async removePod(id: string): Promise<void> {
    await this.rpc('StopPodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
    await this.rpc('RemovePodSandbox', { pod_sandbox_id: id }).catch(() => undefined);
    this.pods.delete(id);
  }

  /** The runtime's log.json of a task, for assertion messages. */
  runtimeLog(id: string): string {
    const f = path.join(this.dir, 'state', 'io.containerd.runtime.v2.task', 'k8s.io', id, 'log.json');
    try {
      return `\n  log.json: ${fs.readFileSync(f, 'utf8').trim().split('\n').slice(-3).join('\n    ')}`;
    } catch {
      return '';
    }
  }

  /** Everything goes (synchronous: pods are removed with ctr, not CRI). Safe to call twice. */
  stop(): void {
    this.runtime?.close();
    this.runtime = undefined;
    if (this.proc && this.proc.exitCode === null && fs.existsSync(this.sock)) {
      const ids = this.ctr(['containers', 'ls', '-q'], { ns: 'k8s.io', timeoutMs: 10_000 }).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      for (const id of ids) {
        this.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id], { ns: 'k8s.io', timeoutMs: 15_000 });
        sleep(50);
        this.ctr(['task', 'delete', '--force', id], { ns: 'k8s.io', timeoutMs: 15_000 });
        this.ctr(['containers', 'delete', id], { ns: 'k8s.io', timeoutMs: 15_000 });
      }
    }
    if (this.proc && this.proc.exitCode === null) {
      const pid = this.proc.pid!;
      killPids([pid], 'SIGTERM');
      if (!waitFor(() => !alive(pid), 10_000, 50)) killPids([pid], 'SIGKILL');
    }
    killPids(pidsMentioning(this.dir));
    sleep(50);
    for (const rt of RUNTIMES) forceDeleteAll(rt, runtimeRoot(this.dir, rt));
    killPids(pidsMentioning(this.dir));
    unmountUnder(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
    removeCgroupTree(this.cgroupParent);
    rmdirIfEmpty(this.createdRunDirs);
  }
}
