/**
 * A private podman (Debian's podman + conmon) for the real-client tests: its
 * own storage root, runroot, tmpdir, network config dir and containers.conf
 * (CONTAINERS_CONF) under one temp dir. The runtime is chosen per command with
 * `podman --runtime <abs path>`; podman names it by its basename, so "tsrun"
 * is listed in runtime_supports_json (conmon then passes it
 * `--log-format=json --log <userdata>/oci-log`).
 *
 * Facts of this host the configuration works around (they hit runc too):
 *  - root lacks CAP_SYS_RESOURCE: podman's default nofile/nproc rlimits
 *    (1048576) cannot be set by any runtime, so default_ulimits are pinned
 *    well within the hard limits (conmon gets a hard nproc of 32768 here, lower
 *    than the shell's);
 *  - no systemd: cgroup_manager = "cgroupfs", events_logger = "file";
 *  - no network: every container runs with --network none.
 *
 * Every podman command runs in one private mount namespace (PrivateMountNs):
 * what podman, conmon and the runtimes mount outside the containers stays
 * there, and stop() undoes any cgroup hierarchy mounted in it, so the host's
 * cgroup layout after the tests is the one before.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv } from './tsrun';
import {
  type CmdResult,
  type Runtime,
  PrivateMountNs,
  RUNTIMES,
  hardLimits,
  killPids,
  pidsMentioning,
  removeCgroupTree,
  runCmd,
  sweepStaleDirs,
  unmountUnder,
} from './clients';

const PREFIX = 'tsrun-clients-podman-';
/** podman's cgroupfs parent for containers and conmon on cgroup v1. */
const CGROUP_PARENT = 'libpod_parent';

export class Podman {
  readonly dir: string;
  readonly conf: string;
  private env: NodeJS.ProcessEnv;
  private cgroupParentExisted: boolean;
  private mntns: PrivateMountNs;

  constructor() {
    sweepStaleDirs(PREFIX, forceDeleteMentioning);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
    fs.writeFileSync(path.join(this.dir, 'owner.pid'), String(process.pid));
    for (const d of ['storage', 'run', 'tmp', 'net', 'volumes']) fs.mkdirSync(path.join(this.dir, d));
    this.conf = path.join(this.dir, 'containers.conf');
    fs.writeFileSync(this.conf, containersConf(this.dir));
    const storageConf = path.join(this.dir, 'storage.conf');
    fs.writeFileSync(
      storageConf,
      `[storage]\ndriver = "overlay"\nrunroot = ${JSON.stringify(path.join(this.dir, 'run'))}\ngraphroot = ${JSON.stringify(path.join(this.dir, 'storage'))}\n`,
    );
    this.env = { ...cleanEnv(), CONTAINERS_CONF: this.conf, CONTAINERS_STORAGE_CONF: storageConf };
    this.cgroupParentExisted = fs.existsSync(path.join('/sys/fs/cgroup/memory', CGROUP_PARENT));
    this.mntns = new PrivateMountNs(this.dir);
  }

  /** `podman <private globals> [--runtime <rt>] ...args` */
  podman(args: string[], opts: { rt?: Runtime; timeoutMs?: number } = {}): CmdResult {
    return runCmd(this.dir, this.argv(args, opts.rt), { env: this.env, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** The full argv of a podman command, in the private mount namespace (for script(1) wrapping too). */
  argv(args: string[], rt?: Runtime): string[] {
    return this.mntns.wrap([
      'podman',
      '--root', path.join(this.dir, 'storage'),
      '--runroot', path.join(this.dir, 'run'),
      '--tmpdir', path.join(this.dir, 'tmp'),
      '--network-config-dir', path.join(this.dir, 'net'),
      '--storage-driver', 'overlay',
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
      ...(rt ? ['--runtime', rt.bin] : []),
      ...args,
    ]);
  }

  /** Runs a command with this podman's environment (CONTAINERS_CONF …), e.g. under script(1). */
  raw(argv: string[], timeoutMs = 60_000): CmdResult {
    return runCmd(this.dir, argv, { env: this.env, timeoutMs });
  }

  /** `podman inspect --format <fmt> <name>` trimmed, or '' */
  inspect(name: string, format: string): string {
    return this.podman(['inspect', '--format', format, name]).stdout.trim();
  }

  /** The conmon/runtime log of a container (oci-log), for assertion messages. */
  ociLog(name: string): string {
    const userdata = this.inspect(name, '{{.StaticDir}}');
    for (const f of [path.join(userdata, 'oci-log'), path.join(this.dir, 'run', 'overlay-containers', this.inspect(name, '{{.Id}}'), 'userdata', 'oci-log')]) {
      try {
        const t = fs.readFileSync(f, 'utf8').trim();
        if (t) return `\n  oci-log: ${t.split('\n').slice(-3).join('\n    ')}`;
      } catch {
        /* none */
      }
    }
    return '';
  }

  /** Everything goes: containers (through podman, then by hand), conmons, mounts, the temp dir. */
  stop(): void {
    const ids = this.podman(['ps', '-aq', '--no-trunc'], { timeoutMs: 20_000 }).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    this.podman(['rm', '--force', '--all', '--time', '0'], { timeoutMs: 60_000 });
    // Whatever podman could not remove: the runtimes' default roots hold our containers (bundles under our dir).
    forceDeleteMentioning(this.dir);
    killPids(pidsMentioning(this.dir));
    for (const id of ids) removeCgroupTree(`${CGROUP_PARENT}/libpod-${id}`);
    if (!this.cgroupParentExisted) removeCgroupTree(CGROUP_PARENT);
    const undone = this.mntns.close();
    if (undone.length) console.log(`  podman: unmounted cgroup hierarchies mounted in its namespace: ${undone.join('; ')}`);
    unmountUnder(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function containersConf(dir: string): string {
  const q = JSON.stringify;
  // Well within the hard limits: podman/conmon run with a lower hard nproc (32768 here) than this shell.
  const { nofile: hn, nproc: hp } = hardLimits();
  const nofile = Math.min(hn, 4096);
  const nproc = Math.min(hp, 4096);
  return `# Private containers.conf of tsrun's client tests (CONTAINERS_CONF).
[containers]
# Podman's defaults (1048576) exceed the hard limits and root has no CAP_SYS_RESOURCE here.
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
log_driver = "k8s-file"
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = ${q(path.join(dir, 'events.log'))}
tmp_dir = ${q(path.join(dir, 'tmp'))}
volume_path = ${q(path.join(dir, 'volumes'))}
runtime = "runc"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "tsrun"]

[engine.runtimes]
runc = [${q(RUNTIMES[0].bin)}]
tsrun = [${q(RUNTIMES[1].bin)}]

[network]
network_config_dir = ${q(path.join(dir, 'net'))}
`;
}

/** Force-deletes, with its own runtime, every container whose state (in the runtime's default root) mentions `dir`. */
function forceDeleteMentioning(dir: string): void {
  for (const rt of RUNTIMES) {
    const root = rt.name === 'runc' ? '/run/runc' : '/run/tsrun';
    let ids: string[] = [];
    try {
      ids = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const id of ids) {
      try {
        if (!fs.readFileSync(path.join(root, id, 'state.json'), 'utf8').includes(dir)) continue;
      } catch {
        continue;
      }
      runCmd(os.tmpdir(), [rt.bin, '--root', root, 'delete', '--force', id], { timeoutMs: 20_000 });
    }
  }
}
