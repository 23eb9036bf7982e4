/** `exec` as callers use it (runc's exec, containerd/conmon argv): joins the container, flags, exit status, detach + pid-file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Case, check, Harness, hostPidRunning, sleepMs } from '../harness';

const NS = ['pid', 'mnt', 'uts', 'ipc', 'net'];

function nsOf(pid: number | string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of NS) out[n] = fs.readlinkSync(`/proc/${pid}/ns/${n}`);
  return out;
}

/** A running `sleep` container; returns the init's host pid. */
function running(h: Harness, edit?: (c: Record<string, any>) => void): number {
  h.makeBundle({ args: ['sleep', '300'], edit });
  h.create();
  h.start();
  const s = h.state();
  check(s.status === 'running' && s.pid, `container not running: ${JSON.stringify(s)}`);
  return s.pid!;
}

export const execCases: Case[] = [
  {
    name: 'exec-joins-container',
    description: 'exec runs in every namespace of the container: same pid/mnt/uts/ipc/net namespaces, hostname and root as the init',
    run(h) {
      const pid = running(h);
      const r = h.run(['exec', h.id, 'sh', '-c', 'for n in pid mnt uts ipc net; do readlink /proc/self/ns/$n; done; hostname; cat /proc/1/cmdline | tr "\\0" " "; echo; ls /bin/busybox']);
      check(r.status === 0, `exec failed: ${r.status} ${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      const init = nsOf(pid);
      NS.forEach((n, i) => check(lines[i] === init[n], `exec ${n} namespace ${lines[i]} != init's ${init[n]}`));
      check(lines[5] === 'tsrun', `hostname ${lines[5]}`);
      check(lines[6].trim() === 'sleep 300', `pid 1 of the exec'd process is ${JSON.stringify(lines[6])}`);
      check(lines[7] === '/bin/busybox', `root: ${lines[7]}`);
    },
  },
  {
    name: 'exec-exit-status',
    description: 'a foreground exec exits with the process status, 128+n when killed by signal n',
    run(h) {
      running(h);
      const a = h.run(['exec', h.id, 'sh', '-c', 'exit 7']);
      check(a.status === 7, `exit 7 → ${a.status}`);
      const b = h.run(['exec', h.id, 'sh', '-c', 'kill -9 $$']);
      check(b.status === 137, `SIGKILL → ${b.status}`);
      const c = h.run(['exec', h.id, 'no-such-binary']);
      check(c.status !== 0, 'exec of a missing binary succeeded');
    },
  },
  {
    name: 'exec-flags',
    description: 'exec --env/--cwd/--user override the config process',
    run(h) {
      running(h);
      // runc refuses -e and --env together; crun has no --additional-gids, and crun's --env replaces the env.
      const r = h.run(['exec', '--env', 'PATH=/usr/bin:/bin', '--env', 'FOO=bar', '--env', 'X=1', '--cwd', '/tmp', '--user', '1000:1001', h.id, 'sh', '-c', 'echo $FOO $X; pwd; id -u; id -g']);
      check(r.status === 0, `exec failed: ${r.status} ${r.stderr}`);
      const l = r.stdout.trim().split('\n');
      check(l[0] === 'bar 1', `env: ${l[0]}`);
      check(l[1] === '/tmp', `cwd: ${l[1]}`);
      check(l[2] === '1000' && l[3] === '1001', `user: ${l[2]}:${l[3]}`);
    },
  },
  {
    name: 'exec-process-json',
    description: 'exec --process runs an OCI process object (as containerd and conmon call it)',
    run(h) {
      running(h);
      const p = path.join(h.dir, 'process.json');
      fs.writeFileSync(p, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo from-json $A; pwd'], env: ['PATH=/bin:/usr/bin', 'A=b'], cwd: '/proc' }));
      const r = h.run(['exec', '--process', p, h.id]);
      check(r.status === 0, `exec failed: ${r.status} ${r.stderr}`);
      check(r.stdout === 'from-json b\n/proc\n', `stdout ${JSON.stringify(r.stdout)}`);
    },
  },
  {
    name: 'exec-detach-pid-file',
    description: 'exec --detach --pid-file writes the host pid of a process that lives in the container',
    run(h) {
      const pid = running(h);
      const pf = path.join(h.dir, 'exec.pid');
      // The detached process must not hold the harness's stdout pipe (spawnSync waits for EOF).
      const r = h.run(['exec', '--detach', '--pid-file', pf, h.id, 'sh', '-c', 'exec sleep 30 </dev/null >/dev/null 2>&1']);
      check(r.status === 0, `exec -d failed: ${r.status} ${r.stderr}`);
      const text = fs.readFileSync(pf, 'utf8');
      check(/^\d+$/.test(text), `pid file ${JSON.stringify(text)}`);
      const epid = Number(text);
      check(hostPidRunning(epid), `exec'd pid ${epid} not running`);
      check(fs.readlinkSync(`/proc/${epid}/ns/pid`) === nsOf(pid).pid, 'exec -d process not in the container pid namespace');
    },
  },
  {
    name: 'exec-stopped-or-missing',
    description: 'exec into a stopped or missing container fails',
    run(h) {
      h.makeBundle({ args: ['true'] });
      h.create();
      h.start();
      h.waitStopped();
      sleepMs(10);
      const a = h.run(['exec', h.id, 'true']);
      check(a.status !== 0, 'exec into a stopped container succeeded');
      const b = h.run(['exec', h.newId('missing'), 'true']);
      check(b.status !== 0, 'exec into a missing container succeeded');
    },
  },
];
