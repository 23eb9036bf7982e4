/**
 * exec against real containers: runc's wording and exit codes, flags, caps,
 * detach + pid-file, --preserve-fds, and LISTEN_FDS pass-through on run.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox, TSRUN, cleanEnv } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-exec-');
test.after(() => sb.cleanup());

let id = '';
test.before(() => {
  const b = sb.bundle({ args: ['sleep', '300'] });
  id = sb.id('exec');
  const r = sb.tsrun(['run', '-d', '--bundle', b, id]);
  if (r.status !== 0) throw new Error(`run -d: ${r.stderr}`);
});

test('exec joins the container: pid 1 is the init, same namespaces and root', () => {
  const pid = sb.state(id).pid;
  const r = sb.tsrun(['exec', id, 'sh', '-c', 'readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; cat /proc/1/comm; hostname; echo $$']);
  assert.is(r.status, 0, r.stderr);
  const l = r.stdout.trim().split('\n');
  assert.is(l[0], fs.readlinkSync(`/proc/${pid}/ns/pid`));
  assert.is(l[1], fs.readlinkSync(`/proc/${pid}/ns/mnt`));
  assert.is(l[2], 'sleep');
  assert.is(l[3], 'tsrun');
  assert.ok(Number(l[4]) > 1);
});

test('the exec\'d process is in the container\'s cgroups, in every hierarchy (cgroup2 too)', () => {
  const pid = sb.state(id).pid;
  const pidFile = path.join(sb.dir, 'exec-cg.pid');
  const r = sb.tsrun(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '30']);
  assert.is(r.status, 0, r.stderr);
  const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
  try {
    const lines = (p: number) => fs.readFileSync(`/proc/${p}/cgroup`, 'utf8').trim().split('\n').sort();
    assert.equal(lines(execPid), lines(pid));
    // Where the host has a cgroup2 hierarchy, the container has a directory of its own there.
    const v2 = lines(pid).find((l) => l.startsWith('0::'));
    if (v2 !== undefined) assert.is.not(v2, lines(process.pid).find((l) => l.startsWith('0::')));
  } finally {
    process.kill(execPid, 'SIGKILL');
  }
});

test('exit status is the process status; 128+signal; missing binary is 255 with runc wording', () => {
  assert.is(sb.tsrun(['exec', id, 'sh', '-c', 'exit 9']).status, 9);
  assert.is(sb.tsrun(['exec', id, 'sh', '-c', 'kill -TERM $$']).status, 128 + 15);
  const r = sb.tsrun(['exec', id, 'nope-binary']);
  assert.is(r.status, 255);
  assert.match(r.stderr, /exec failed: unable to start container process: exec: .*nope-binary.*: executable file not found in \$PATH/);
});

test('flags: env, cwd, user:group, additional gids, no-new-privs, cap', () => {
  const r = sb.tsrun(['exec', '-e', 'A=1', '--env', 'B=2', '--cwd', '/tmp', '-u', '1000:1001', '-g', '5', '-g', '7', '--no-new-privs', id, 'sh', '-c', 'echo $A$B; pwd; id -u; id -g; id -G; grep NoNewPrivs /proc/self/status']);
  assert.is(r.status, 0, r.stderr);
  const l = r.stdout.trim().split('\n');
  assert.equal(l.slice(0, 4), ['12', '/tmp', '1000', '1001']);
  assert.equal(l[4].split(' ').sort(), ['1001', '5', '7']);
  assert.match(l[5], /NoNewPrivs:\s+1/);
  const c = sb.tsrun(['exec', '--cap', 'CAP_SYS_ADMIN', id, 'grep', 'CapEff', '/proc/self/status']);
  assert.is(c.status, 0, c.stderr);
  assert.ok((BigInt('0x' + c.stdout.split(':')[1].trim()) & (1n << 21n)) !== 0n, 'CAP_SYS_ADMIN added');
  const d = sb.tsrun(['exec', id, 'grep', 'CapEff', '/proc/self/status']);
  assert.ok((BigInt('0x' + d.stdout.split(':')[1].trim()) & (1n << 21n)) === 0n, 'not without --cap');
});

test('--process: an OCI process object, validated', () => {
  const p = path.join(sb.dir, 'proc.json');
  fs.writeFileSync(p, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo $Z; pwd'], env: ['PATH=/bin', 'Z=zz'], cwd: '/etc' }));
  const r = sb.tsrun(['exec', '--process', p, id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'zz\n/etc\n');
  fs.writeFileSync(p, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ['true'], cwd: 'relative' }));
  const bad = sb.tsrun(['exec', '--process', p, id]);
  assert.is(bad.status, 255);
  assert.match(bad.stderr, 'cwd property must be an absolute path');
});

test('--detach --pid-file: exit 0 at once, pid file names a live process in the container', () => {
  const pf = path.join(sb.dir, 'exec.pid');
  const r = sb.tsrun(['exec', '-d', '--pid-file', pf, id, 'sleep', '20']);
  assert.is(r.status, 0, r.stderr);
  const pid = Number(fs.readFileSync(pf, 'utf8'));
  assert.ok(pid > 0 && fs.existsSync(`/proc/${pid}`));
  assert.is(fs.readlinkSync(`/proc/${pid}/ns/pid`), fs.readlinkSync(`/proc/${sb.state(id).pid}/ns/pid`));
  // As runc: not the caller's child (orphaned when tsrun exited), so a caller that never reaps
  // cannot leave a zombie in the container's pid namespace and block its init's exit.
  const ppid = Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  assert.is.not(ppid, process.pid);
  process.kill(pid, 'SIGKILL');
});

test('--preserve-fds passes fd 3 on', () => {
  const f = path.join(sb.dir, 'preserved.txt');
  fs.writeFileSync(f, 'preserved-content');
  const r = spawnSync('sh', ['-c', `exec 3<${f}; exec ${TSRUN} --root ${sb.root} exec --preserve-fds 1 ${id} cat /proc/self/fd/3`], { encoding: 'utf8', env: cleanEnv() });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'preserved-content');
});

test('stopped and missing containers: runc wording, exit 255', () => {
  const b = sb.bundle({ args: ['true'] });
  const sid = sb.id('stopped');
  assert.is(sb.tsrun(['run', '-d', '--bundle', b, sid]).status, 0);
  sb.waitStatus(sid, 'stopped');
  const a = sb.tsrun(['exec', sid, 'true']);
  assert.is(a.status, 255);
  assert.match(a.stderr, 'exec failed: cannot exec in a stopped container');
  const m = sb.tsrun(['exec', 'no-such-container', 'true']);
  assert.is(m.status, 255);
  assert.match(m.stderr, 'exec failed: container does not exist');
});

test('run: LISTEN_FDS for tsrun itself are passed as fds 3.. with LISTEN_FDS=n LISTEN_PID=1', () => {
  const f = path.join(sb.dir, 'listen.txt');
  fs.writeFileSync(f, 'socket-activated');
  const b = sb.bundle({ args: ['sh', '-c', 'echo $LISTEN_FDS $LISTEN_PID; cat /proc/self/fd/3'] });
  const rid = sb.id('listen');
  const r = spawnSync('sh', ['-c', `exec 3<${f}; LISTEN_FDS=1 LISTEN_PID=$$ exec ${TSRUN} --root ${sb.root} run --bundle ${b} ${rid}`], { encoding: 'utf8', env: cleanEnv() });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, '1 1\nsocket-activated');
  // LISTEN_PID naming another process: nothing is passed.
  const r2 = spawnSync('sh', ['-c', `exec 3<${f}; LISTEN_FDS=1 LISTEN_PID=1 exec ${TSRUN} --root ${sb.root} run --bundle ${b} ${sb.id('listen')}`], { encoding: 'utf8', env: cleanEnv() });
  assert.is.not(r2.stdout.split('\n')[0], '1 1');
});

test.run();
