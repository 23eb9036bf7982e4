/**
 * A private systemd for the systemd cgroup driver's tests, on any host with a
 * cgroup2 hierarchy: systemd (the host's /lib/systemd/systemd) runs as pid 1
 * of new pid, mount, cgroup, uts and ipc namespaces, in a fresh cgroup2
 * directory that is the root of its cgroup namespace (mounted at
 * /sys/fs/cgroup there: systemd sees a cgroup2-only host), with a private
 * /run and one empty target as its only unit, so it starts nothing of the
 * host's. Commands run inside with nsenter (mount, cgroup and pid
 * namespaces: where systemd's private socket and cgroup view are).
 * stop() kills it (the pid namespace dies with it) and removes the cgroup tree.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killAndRemoveCgroup } from './cgroups';
import { host } from './host';
import { sleep } from './tsrun';

export const SYSTEMD_BIN = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].find((p) => fs.existsSync(p));

/** Why a private systemd cannot run here, or undefined. */
export function privateSystemdUnmet(): string | undefined {
  if (!host().isRoot) return 'needs root';
  if (!SYSTEMD_BIN) return 'systemd is not installed (/lib/systemd/systemd)';
  if (!host().cgroup.unified) return 'no cgroup2 hierarchy to give a private systemd';
  for (const b of ['unshare', 'nsenter']) if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0) return `${b} (util-linux) is missing`;
  return undefined;
}

export class PrivateSystemd {
  readonly cgroupDir: string;
  pid = 0;
  private starter = 0;

  constructor(tag: string) {
    this.cgroupDir = path.join(host().cgroup.unified!.mountPoint, `tsrun-systemd-${tag}-${process.pid}`);
  }

  /** Starts systemd and waits for its private D-Bus socket. */
  start(timeoutMs = 20_000): void {
    fs.mkdirSync(this.cgroupDir);
    const inner = [
      'mount -t proc proc /proc',
      'mount -t tmpfs -o mode=755 tmpfs /run',
      'mkdir -p /run/systemd/system',
      "printf '[Unit]\\nDescription=tsrun test target\\nDefaultDependencies=no\\n' > /run/systemd/system/tsrun-test.target",
      'umount -l /sys/fs/cgroup',
      'mount -t cgroup2 cgroup2 /sys/fs/cgroup',
      `exec env -i container=tsrun-test ${SYSTEMD_BIN} --unit=tsrun-test.target --log-target=null`,
    ].join('\n');
    // The unshare process enters the cgroup first: the new cgroup namespace is rooted there.
    const outer = `echo $$ > ${this.cgroupDir}/cgroup.procs && exec unshare --mount --cgroup --pid --uts --ipc --fork --propagation private sh -c '${inner.replace(/'/g, "'\\''")}'`;
    const child = spawn('sh', ['-c', outer], { detached: true, stdio: 'ignore' });
    child.unref();
    this.starter = child.pid ?? 0;
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const pid = this.findSystemd();
      if (pid && fs.existsSync(`/proc/${pid}/root/run/systemd/private`)) {
        this.pid = pid;
        // Its manager is up once the socket exists; the target may still be starting.
        if (this.run(['systemctl', 'is-system-running']).stdout.trim() !== 'starting') return;
      }
      sleep(50);
    }
    this.stop();
    throw new Error('private systemd did not come up');
  }

  private findSystemd(): number | undefined {
    try {
      for (const pid of fs.readFileSync(path.join(this.cgroupDir, 'init.scope/cgroup.procs'), 'utf8').split('\n').filter(Boolean)) return Number(pid);
    } catch {
      /* not yet */
    }
    return undefined;
  }

  /** argv inside systemd's mount, cgroup and pid namespaces. */
  argv(cmd: string[]): string[] {
    return ['nsenter', '-t', String(this.pid), '-m', '-C', '-p', '--', ...cmd];
  }

  run(cmd: string[], timeoutMs = 30_000): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(this.argv(cmd)[0], this.argv(cmd).slice(1), { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** `systemctl show -p …` of a unit as a map (empty for a unit systemd does not have loaded). */
  show(unit: string, props: string[]): Record<string, string> {
    const r = this.run(['systemctl', 'show', unit, '--no-pager', ...props.flatMap((p) => ['-p', p])]);
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i)] = out[line.slice(0, i)] !== undefined ? `${out[line.slice(0, i)]} ${line.slice(i + 1)}` : line.slice(i + 1);
    }
    return out;
  }

  /** The host path of a cgroup path as systemd sees it. */
  hostPath(cgroupPath: string): string {
    return path.join(this.cgroupDir, cgroupPath);
  }

  stop(): void {
    for (const pid of [this.pid, this.starter]) {
      if (!pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // Whatever is left in the tree (the pid namespace's other processes die with its init).
    killAndRemoveCgroup(this.cgroupDir);
  }
}
