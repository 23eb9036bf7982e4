/**
 * cgroups on real containers through bin/tsrun (root, v1 or hybrid host):
 * limits enforced from inside (OOM kill + `events` oom, pids.max, device
 * deny), pause/resume, update (JSON on stdin and flags; saved in the state),
 * kill --all, SIGKILL without a pid namespace, ps, delete removing the
 * cgroups, absolute/relative cgroupsPath, and the same resources under runc
 * giving the same cgroup file values; hugepage limits and block I/O weights
 * the host has (test/helpers/host.ts) work, those it lacks fail `create` with
 * one line and nothing left behind. Every container is force-deleted and
 * every cgroup directory under tsrun-ctest-<pid> removed in after().
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blockDev, killAndRemoveCgroup, restoreUnifiedRoot, unifiedRootControllers } from '../helpers/cgroups';
import { absentPageSize, controllerOn, host, hostTest, need, needAll, needs } from '../helpers/host';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostLayout } from '../../src/cgroups';
import { Sandbox, TSRUN, cleanEnv, isRoot, sleep } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-cgc-');
const root = isRoot();
const layout = root ? hostLayout() : undefined;
/** The v1 controllers these tests read back from the host. */
const NEED_V1 = (): string | undefined => needAll(needs.root(), ...['memory', 'pids', 'freezer', 'devices', 'cpu'].map((c) => needs.v1(c)));
const TAG = `tsrun-ctest-${process.pid}`;
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'].find((p) => fs.existsSync(p));
const runcRoot = path.join(sb.dir, 'runc-root');
const runcIds: string[] = [];
/** The cgroup2 root's controllers before: the hugetlb fallback enables hugetlb there (restored in after()). */
const unifiedBefore = root ? unifiedRootControllers() : [];

const read = (p: string): string => fs.readFileSync(p, 'utf8').trim();
const mount = (ctrl: string): string => layout!.v1.find((h) => h.controllers.includes(ctrl))!.mountPoint;

/** The host directory of `pid`'s cgroup for a v1 controller (from /proc/<pid>/cgroup). */
function cgDir(pid: number, ctrl: string): string {
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (ctrls !== undefined && ctrls.split(',').includes(ctrl)) return path.join(mount(ctrl), p);
  }
  throw new Error(`no ${ctrl} cgroup for pid ${pid}`);
}

function procs(dir: string): number[] {
  return read(path.join(dir, 'cgroup.procs')).split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
}

function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function waitFor(what: string, cond: () => boolean, ms = 10_000): void {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    sleep(20);
  }
}

function stateFile(id: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(sb.root, id, 'state.json'), 'utf8'));
}

/** Removes what a failed test may have left: runc containers, then TAG in every hierarchy (deepest first). */
function sweep(): void {
  if (RUNC) for (const id of runcIds) spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore', timeout: 30_000 });
  if (!layout) return;
  const own = fs.readFileSync('/proc/self/cgroup', 'utf8');
  const roots = new Set<string>();
  for (const h of layout.v1) {
    roots.add(path.join(h.mountPoint, TAG));
    const mine = own.split('\n').find((l) => l.split(':')[1]?.split(',').includes(h.controllers[0]))?.split(':')[2];
    if (mine) roots.add(path.join(h.mountPoint, mine, TAG));
  }
  if (layout.unified) roots.add(path.join(layout.unified.mountPoint, TAG));
  for (const r of roots) killAndRemoveCgroup(r);
}

test.after(() => {
  sb.cleanup();
  sweep();
  restoreUnifiedRoot(unifiedBefore);
});

/** A detached container running `script`; returns its id and init pid. */
function runDetached(script: string, edit?: (c: Record<string, any>) => void, name = 'c'): { id: string; pid: number } {
  const b = sb.bundle({ args: ['sh', '-c', script], edit });
  const id = sb.id(name);
  const r = sb.tsrun(['run', '-d', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  return { id, pid: sb.state(id).pid };
}

hostTest(test, 'memory limit: a process allocating past it is OOM-killed, and `events` reports {"type":"oom","id":...}', NEED_V1, async () => {
  const limit = 32 * 1024 * 1024;
  const b = sb.bundle({
    args: ['sh', '-c', 'sleep 0.5; dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; echo dd=$?; sleep 0.5'],
    edit: (c) => {
      c.linux.cgroupsPath = `/${TAG}/oom`;
      c.linux.resources = { memory: { limit, swap: limit } };
    },
  });
  const id = sb.id('oom');
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  const dir = path.join(mount('memory'), TAG, 'oom');
  assert.is(read(`${dir}/memory.limit_in_bytes`), String(limit));
  const evOut = path.join(sb.dir, 'events.out');
  const fo = fs.openSync(evOut, 'w');
  const events = spawn(TSRUN, ['--root', sb.root, 'events', '--interval', '1h', id], { stdio: ['ignore', fo, 'inherit'], env: cleanEnv() });
  fs.closeSync(fo);
  const done = new Promise<number | null>((res) => events.once('exit', (code) => res(code)));
  try {
    sleep(300); // events has read the counter before the allocation
    assert.is(sb.tsrun(['start', id]).status, 0);
    sb.waitStatus(id, 'stopped', 20_000);
    assert.is(await Promise.race([done, new Promise<string>((res) => setTimeout(() => res('timeout'), 10_000))]), 0, 'events ends with the container');
  } finally {
    events.kill('SIGKILL');
  }
  assert.match(read(`${dir}/memory.oom_control`), /oom_kill [1-9]/);
  const lines = read(evOut).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const ooms = lines.filter((l) => l.type === 'oom');
  assert.ok(ooms.length >= 1, `events output: ${read(evOut).slice(0, 300)}`);
  assert.equal(ooms[0], { type: 'oom', id }, "runc's shape: type and id, no data");
  assert.is(sb.tsrun(['delete', id]).status, 0);
  assert.not.ok(fs.existsSync(dir), 'delete removed the memory cgroup');
});

hostTest(test, 'pids limit: the container cannot fork past pids.max ("can\'t fork")', NEED_V1, () => {
  const b = sb.bundle({
    args: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait; echo end'],
    edit: (c) => {
      c.linux.cgroupsPath = `/${TAG}/pids`;
      c.linux.resources = { pids: { limit: 5 } };
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id('pids')]);
  assert.match(r.stdout + r.stderr, /can't fork|Resource temporarily unavailable/);
  assert.is(r.status, 2, 'busybox sh gives up when fork fails');
});

hostTest(test, 'pause freezes every process (state "paused"), resume thaws them (state "running")', NEED_V1, () => {
  const { id, pid } = runDetached('sleep 300 & while :; do sleep 0.1; done');
  const fz = cgDir(pid, 'freezer');
  waitFor('two processes', () => procs(fz).length >= 2);
  let r = sb.tsrun(['pause', id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${fz}/freezer.state`), 'FROZEN');
  assert.is(sb.state(id).status, 'paused');
  // Hot path: `state` reads the freezer file itself; src/cgroups is never loaded.
  const preload = path.join(sb.dir, 'loaded.js');
  fs.writeFileSync(preload, "process.on('exit', () => require('fs').writeSync(2, 'LOADED ' + JSON.stringify(Object.keys(require.cache).filter((f) => /cgroups/.test(f))) + '\\n'));\n");
  const st = sb.exec([process.execPath, '-r', preload, path.join(path.dirname(TSRUN), '../dist/src/cli/main.js'), '--root', sb.root, 'state', id]);
  assert.match(st.stdout, /"status": "paused"/);
  assert.match(st.stderr, /LOADED \[\]/);
  for (const p of procs(fz)) {
    const st = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))![1];
    assert.ok(['D', 'T'].includes(st), `pid ${p} frozen: State ${st}`);
  }
  r = sb.tsrun(['resume', id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${fz}/freezer.state`), 'THAWED');
  assert.is(sb.state(id).status, 'running');
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
  assert.not.ok(fs.existsSync(fz), 'delete removed the freezer cgroup');
});

hostTest(test, 'exec --ignore-paused into a paused container waits in the frozen cgroup; resume, run meanwhile, thaws it and exec finishes (runc\'s suite)', NEED_V1, async () => {
  const { id } = runDetached('while :; do sleep 0.1; done');
  assert.is(sb.tsrun(['pause', id]).status, 0);
  const out: Buffer[] = [];
  const ex = spawn(TSRUN, ['--root', sb.root, 'exec', '--ignore-paused', id, 'echo', 'ok'], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  ex.stdout.on('data', (d: Buffer) => out.push(d));
  ex.stderr.on('data', (d: Buffer) => out.push(d));
  const done = new Promise<number | null>((res) => ex.on('exit', (code) => res(code)));
  const delay = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  await delay(1000);
  // exec's helper is frozen in the container's cgroup by now: resume must not wait on exec.
  const t0 = Date.now();
  const r = await new Promise<{ status: number | null; stderr: string }>((res) => {
    const c = spawn(TSRUN, ['--root', sb.root, 'resume', id], { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('exit', (status) => res({ status, stderr: err }));
  });
  assert.is(r.status, 0, r.stderr);
  assert.ok(Date.now() - t0 < 10_000, `resume took ${Date.now() - t0} ms`);
  const code = await Promise.race([done, delay(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') ex.kill('SIGKILL');
  assert.is(code, 0, Buffer.concat(out).toString());
  assert.is(Buffer.concat(out).toString(), 'ok\n');
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

hostTest(test, 'delete --force of a paused container while exec --ignore-paused waits in it: no wait on exec, nothing left (not the exec\'s helper either)', NEED_V1, async () => {
  const { id, pid } = runDetached('while :; do sleep 0.1; done');
  const fz = cgDir(pid, 'freezer');
  assert.is(sb.tsrun(['pause', id]).status, 0);
  const ex = spawn(TSRUN, ['--root', sb.root, 'exec', '--ignore-paused', id, 'echo', 'ok'], { stdio: 'ignore', env: cleanEnv() });
  const done = new Promise<number | null>((res) => ex.on('exit', (code) => res(code)));
  const delay = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  await delay(1000);
  const helpers = procs(fz).filter((p) => p !== pid && fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'tsrun-init');
  const d = await new Promise<{ status: number | null; stderr: string }>((res) => {
    const c = spawn(TSRUN, ['--root', sb.root, 'delete', '--force', id], { stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() });
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    c.on('exit', (status) => {
      clearTimeout(t);
      res({ status, stderr: err });
    });
  });
  if ((await Promise.race([done, delay(10_000).then(() => 'timeout' as const)])) === 'timeout') ex.kill('SIGKILL');
  assert.is(d.status, 0, `delete --force: ${d.stderr}`);
  assert.not.ok(fs.existsSync(fz), 'the freezer cgroup is gone');
  waitFor('the exec helper and the init are gone', () => !alive(pid) && helpers.every((h) => !alive(h)));
});

const DEVPROBE = 'if echo x > /dev/null; then echo null=ok; else echo null=refused; fi; head -c 3 /dev/zero | wc -c';
const denyNull = (c: Record<string, any>): void => {
  // An explicit /dev/null replaces runc's default allow for it; the deny then holds.
  c.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666 }];
  c.linux.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }] };
};

hostTest(test, 'device deny c 1:3: writing /dev/null fails with EPERM inside, /dev/zero works', NEED_V1, () => {
  const b = sb.bundle({ args: ['sh', '-c', DEVPROBE], edit: denyNull });
  const r = sb.tsrun(['run', '--bundle', b, sb.id('dev')]);
  assert.match(r.stderr, /Operation not permitted/);
  assert.equal(r.stdout.trim().split('\n'), ['null=refused', '3']);
});

hostTest(test, 'device deny c 1:7 with /dev/full in linux.devices: EPERM instead of ENOSPC, under tsrun and runc alike', NEED_V1, () => {
  // (runc cannot start at all when /dev/null is denied: it reopens its /dev/null stdio inside the container.)
  const b = sb.bundle({
    args: ['sh', '-c', 'echo x > /dev/full; echo x > /dev/null && echo null=ok'],
    edit: (c) => {
      c.linux.devices = [{ path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666 }];
      c.linux.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 7, access: 'rwm' }] };
    },
  });
  const ours = sb.tsrun(['run', '--bundle', b, sb.id('full')]);
  assert.match(ours.stderr, /\/dev\/full: Operation not permitted/);
  assert.match(ours.stdout, /null=ok/);
  if (!RUNC) return;
  const id = `tsrun-cgc-full-${process.pid}`;
  runcIds.push(id);
  const theirs = sb.exec([RUNC, '--root', runcRoot, 'run', '--bundle', b, id]);
  assert.match(theirs.stderr, /\/dev\/full: Operation not permitted/);
  assert.is(theirs.stdout, ours.stdout);
  spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
});

/** A device cgroup tsrun will program: the v1 devices hierarchy, or cgroup2 (eBPF). */
const NEED_DEVICE_CGROUP = (): string | undefined =>
  needAll(needs.root(), need(controllerOn('devices') === 'v1' || host().cgroup.mode === 'v2', `needs a device cgroup: the v1 devices hierarchy or a cgroup2-only host (cgroup ${host().cgroup.mode}, devices ${controllerOn('devices') ?? 'absent'})`));

/** A character device outside runc's defaults that this host lets root open (a device cgroup is then what refuses it). */
function hostOpenableDevice(): { path: string; major: number; minor: number } | undefined {
  for (const p of ['/dev/fuse', '/dev/loop-control', '/dev/userfaultfd', '/dev/tty0', '/dev/vcs', '/dev/kmsg', '/dev/cpu_dma_latency']) {
    try {
      const st = fs.statSync(p);
      if (!st.isCharacterDevice()) continue;
      fs.closeSync(fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY));
      return { path: p, major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
    } catch {
      /* absent or refused here: try the next */
    }
  }
  return undefined;
}

hostTest(test, 'no linux.resources.devices: deny by default with runc\'s default devices (a device made with mknod cannot be opened), as runc', () => NEED_DEVICE_CGROUP() ?? need(hostOpenableDevice() !== undefined, 'no character device outside the defaults that root can open here'), () => {
  const dev = hostOpenableDevice()!;
  const probe = `mknod /tmp/dev c ${dev.major} ${dev.minor} && if (exec 3</tmp/dev) 2>/dev/null; then echo dev=open; else echo dev=refused; fi; echo x > /dev/null && echo null=ok`;
  const b = sb.bundle({
    args: ['sh', '-c', probe],
    edit: (c) => {
      delete c.linux.resources;
      c.process.capabilities = { bounding: ['CAP_MKNOD'], effective: ['CAP_MKNOD'], permitted: ['CAP_MKNOD'] };
      c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
    },
  });
  const ours = sb.tsrun(['run', '--bundle', b, sb.id('nodev')]);
  assert.is(ours.stdout.trim(), 'dev=refused\nnull=ok', `${dev.path}: ${ours.stderr}`);
  if (!RUNC) return;
  const id = `tsrun-cgc-nodev-${process.pid}`;
  runcIds.push(id);
  const theirs = sb.exec([RUNC, '--root', runcRoot, 'run', '--bundle', b, id]);
  assert.is(theirs.stdout, ours.stdout);
  spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
});

hostTest(test, 'update while running: --resources - (stdin JSON) and flags reach the cgroup files, the view from inside and the state', NEED_V1, () => {
  const { id, pid } = runDetached('while :; do sleep 1; done', (c) => {
    c.linux.resources = { memory: { limit: 268435456 }, pids: { limit: 50 }, cpu: { shares: 1024, quota: 50000, period: 100000 } };
  });
  const mem = cgDir(pid, 'memory');
  const pidsD = cgDir(pid, 'pids');
  const cpu = cgDir(pid, 'cpu');
  const inside = (file: string): string => {
    const r = sb.tsrun(['exec', id, 'cat', `/sys/fs/cgroup/${file}`]);
    assert.is(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.is(inside('memory/memory.limit_in_bytes'), '268435456');
  let r = sb.tsrun(['update', '--resources', '-', id], { input: JSON.stringify({ memory: { limit: 134217728 }, pids: { limit: 20 }, cpu: { quota: 20000, period: 100000 } }) });
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${mem}/memory.limit_in_bytes`), '134217728');
  assert.is(read(`${pidsD}/pids.max`), '20');
  assert.is(read(`${cpu}/cpu.cfs_quota_us`), '20000');
  assert.is(inside('memory/memory.limit_in_bytes'), '134217728');
  assert.is(inside('pids/pids.max'), '20');
  assert.is(inside('cpu/cpu.cfs_quota_us'), '20000');
  let saved = stateFile(id).config.linux.resources;
  assert.equal(saved.memory, { limit: 134217728 });
  assert.equal(saved.cpu, { shares: 1024, quota: 20000, period: 100000 });
  r = sb.tsrun(['update', '--memory', '64m', '--pids-limit', '10', '--cpu-quota', '30000', '--cpu-period', '200000', '--cpu-share', '256', id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(read(`${mem}/memory.limit_in_bytes`), String(64 * 1024 * 1024));
  assert.is(read(`${pidsD}/pids.max`), '10');
  assert.is(read(`${cpu}/cpu.cfs_quota_us`), '30000');
  assert.is(read(`${cpu}/cpu.cfs_period_us`), '200000');
  assert.is(read(`${cpu}/cpu.shares`), '256');
  assert.is(inside('memory/memory.limit_in_bytes'), String(64 * 1024 * 1024));
  assert.is(inside('cpu/cpu.shares'), '256');
  saved = stateFile(id).config.linux.resources;
  assert.equal(saved.pids, { limit: 10 });
  assert.equal(saved.cpu, { shares: 256, quota: 30000, period: 200000 });
  const ev = JSON.parse(sb.tsrun(['events', '--stats', id]).stdout);
  assert.is(ev.data.pids.limit, 10);
  assert.is(ev.data.memory.usage.limit, 64 * 1024 * 1024);
});

hostTest(test, 'kill --all reaches every process of the container; delete removes its cgroups', NEED_V1, () => {
  const { id, pid } = runDetached('trap "" TERM; sleep 300 & sleep 300 & while :; do sleep 0.1; done');
  const dir = cgDir(pid, 'pids');
  waitFor('three processes', () => procs(dir).length >= 3);
  const all = procs(dir);
  const dirs = layout!.v1.map((h) => cgDir(pid, h.controllers[0])).filter((d) => !layout!.v1.some((h) => path.resolve(h.mountPoint) === path.resolve(d)));
  assert.ok(dirs.length >= 5, JSON.stringify(dirs));
  const r = sb.tsrun(['kill', '--all', id, 'KILL']);
  assert.is(r.status, 0, r.stderr);
  waitFor('all dead', () => all.every((p) => !alive(p)));
  sb.waitStatus(id, 'stopped');
  assert.is(sb.tsrun(['delete', id]).status, 0);
  for (const d of dirs) assert.not.ok(fs.existsSync(d), `${d} removed`);
});

hostTest(test, 'no private pid namespace: `kill <id> KILL` kills every process of the container through its cgroup', NEED_V1, () => {
  const { id, pid } = runDetached('sleep 300 & sleep 300 & wait', (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  });
  const dir = cgDir(pid, 'pids');
  waitFor('three processes', () => procs(dir).length === 3);
  const all = procs(dir);
  // `ps` lists exactly the cgroup's processes.
  const ps = sb.tsrun(['ps', '--format', 'json', id]);
  assert.is(ps.status, 0, ps.stderr);
  assert.equal((JSON.parse(ps.stdout) as number[]).filter(alive).sort((a, b) => a - b), all.filter(alive));
  assert.ok(all.includes(pid));
  const table = sb.tsrun(['ps', id]);
  assert.match(table.stdout, /sleep 300/);
  const r = sb.tsrun(['kill', id, 'KILL']);
  assert.is(r.status, 0, r.stderr);
  waitFor('every process dead', () => all.every((p) => !alive(p)));
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

hostTest(test, 'no private pid namespace, init gone: `kill --all <id> 9` kills what it left in the cgroup (containerd\'s shim waits on their stdio)', NEED_V1, () => {
  const { id, pid } = runDetached('sleep 300 & sleep 300 & wait', (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  });
  const dir = cgDir(pid, 'pids');
  waitFor('three processes', () => procs(dir).length === 3);
  const children = procs(dir).filter((p) => p !== pid);
  process.kill(pid, 'SIGKILL');
  sb.waitStatus(id, 'stopped');
  assert.ok(children.every(alive), 'the init\'s children outlive it');
  const freezerDir = cgDir(children[0], 'freezer');
  const dirs = layout!.v1.map((h) => cgDir(children[0], h.controllers[0])).filter((d) => !layout!.v1.some((h) => path.resolve(h.mountPoint) === path.resolve(d)));
  // As an engine calls it (--log, --log-format, a numeric signal), and with no node on PATH:
  // the launcher's fast path does it (freeze, signal, thaw) or the call fails with 127.
  const noNode = { ...cleanEnv(), PATH: '/nonexistent-tsrun-dir' };
  const engine = (args: string[]) => sb.exec([TSRUN, '--root', sb.root, '--log', path.join(sb.dir, 'engine.log'), '--log-format', 'json', ...args], { env: noNode });
  let r = engine(['kill', '--all', id, '9']);
  assert.is(r.status, 0, r.stderr);
  waitFor('the children dead', () => children.every((p) => !alive(p)));
  assert.is(read(path.join(freezerDir, 'freezer.state')), 'THAWED', 'frozen around the signals, thawed after');
  assert.is(engine(['kill', '--all', id, '9']).status, 0, 'nothing left: still 0');
  // delete of the stopped container, without Node too: its cgroups and state gone.
  waitFor('the cgroup empty', () => procs(dir).length === 0);
  r = engine(['delete', id]);
  assert.is(r.status, 0, r.stderr);
  for (const d of dirs) assert.not.ok(fs.existsSync(d), `${d} removed`);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)), 'state removed');
  assert.is(engine(['delete', '--force', id]).status, 0, 'and delete --force of it after');
});

hostTest(test, 'cgroupsPath: absolute from each hierarchy root, relative under the runtime\'s own cgroup', NEED_V1, () => {
  const abs = runDetached('sleep 300', (c) => (c.linux.cgroupsPath = `/${TAG}/abs`), 'abs');
  const rel = runDetached('sleep 300', (c) => (c.linux.cgroupsPath = `${TAG}/rel`), 'rel');
  const own = new Map<string, string>();
  for (const l of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [, ctrls, p] = l.split(':');
    own.set(ctrls, p);
  }
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  for (const [m, pid] of [[a, abs.pid], [b, rel.pid]] as const) {
    for (const l of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean)) {
      const [, ctrls, p] = l.split(':');
      m.set(ctrls, p);
    }
  }
  for (const [ctrls, p] of own) {
    if (ctrls === '') {
      if (a.has('')) assert.is(a.get(''), `/${TAG}/abs`);
      if (b.has('')) assert.is(b.get(''), path.posix.join(path.posix.dirname(p), TAG, 'rel'));
      continue;
    }
    assert.is(a.get(ctrls), `/${TAG}/abs`, `absolute, ${ctrls}`);
    assert.is(b.get(ctrls), path.posix.join(p, TAG, 'rel'), `relative, ${ctrls} (own ${p})`);
  }
  for (const c of [abs, rel]) assert.is(sb.tsrun(['delete', '--force', c.id]).status, 0);
  assert.not.ok(fs.existsSync(path.join(mount('memory'), TAG, 'abs')));
  assert.not.ok(fs.existsSync(path.join(mount('memory'), own.get('memory') ?? '/', TAG, 'rel')));
});

const COMPARE = [
  'memory/memory.limit_in_bytes',
  'memory/memory.memsw.limit_in_bytes',
  'memory/memory.soft_limit_in_bytes',
  'memory/memory.swappiness',
  'memory/memory.oom_control',
  'cpu/cpu.shares',
  'cpu/cpu.cfs_quota_us',
  'cpu/cpu.cfs_period_us',
  'cpuset/cpuset.cpus',
  'cpuset/cpuset.mems',
  'pids/pids.max',
  'blkio/blkio.bfq.weight',
  'blkio/blkio.weight',
  'blkio/blkio.throttle.read_bps_device',
  'blkio/blkio.throttle.write_iops_device',
  'devices/devices.list',
];

hostTest(test, 'side by side: real containers of tsrun and runc with the same resources have the same cgroup file values', () => needAll(NEED_V1(), needs.v1('cpuset'), need(RUNC, 'runc not installed')), () => {
  const dev = blockDev();
  const f = host().v1Files;
  const resources = {
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
      { allow: false, type: 'c', major: 1, minor: 9, access: 'w' },
    ],
    memory: { limit: 268435456, reservation: 134217728, ...(f.memorySwap ? { swap: 536870912 } : {}), swappiness: 30 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 77 },
    // The weight only where the host has a weight file: runc and tsrun both refuse it otherwise (tested below).
    blockIO: { ...(f.blkioWeight ? { weight: 300 } : {}), throttleReadBpsDevice: dev ? [{ ...dev, rate: 1048576 }] : [], throttleWriteIOPSDevice: dev ? [{ ...dev, rate: 50 }] : [] },
  };
  const mk = (who: string): string =>
    sb.bundle({
      args: ['sleep', '300'],
      edit: (c) => {
        c.linux.cgroupsPath = `/${TAG}/sbs-${who}`;
        c.linux.resources = resources;
      },
    });
  const ours = runDetached('sleep 300', (c) => {
    c.linux.cgroupsPath = `/${TAG}/sbs-tsrun`;
    c.linux.resources = resources;
  });
  const rid = `tsrun-cgc-sbs-${process.pid}`;
  runcIds.push(rid);
  const rb = mk('runc');
  const r = sb.exec([RUNC!, '--root', runcRoot, 'run', '-d', '--bundle', rb, rid]);
  assert.is(r.status, 0, `runc run -d: ${r.stderr}`);
  const diffs: string[] = [];
  let compared = 0;
  for (const f of COMPARE) {
    const [ctrl, file] = f.split('/');
    if (!layout!.v1.some((h) => h.controllers.includes(ctrl))) continue;
    const a = path.join(mount(ctrl), TAG, 'sbs-runc', file);
    const b = path.join(mount(ctrl), TAG, 'sbs-tsrun', file);
    if (!fs.existsSync(a)) continue;
    compared++;
    if (read(a) !== read(b)) diffs.push(`${f}: runc ${JSON.stringify(read(a))} tsrun ${JSON.stringify(read(b))}`);
  }
  console.log(`  side by side (real containers): ${compared} files compared, ${diffs.length} different`);
  // Both processes really are in those cgroups.
  const runcPid = Number(read(path.join(mount('pids'), TAG, 'sbs-runc', 'cgroup.procs')).split('\n')[0]);
  assert.ok(runcPid > 0);
  assert.equal(procs(path.join(mount('pids'), TAG, 'sbs-tsrun')), [ours.pid]);
  spawnSync(RUNC!, ['--root', runcRoot, 'delete', '--force', rid], { stdio: 'ignore', timeout: 30_000 });
  assert.equal(diffs, []);
  // COMPARE less the files this host lacks (weight files without CFQ/BFQ, memsw without swap accounting, throttles without a block device).
  const absent = [!f.blkioWeight || f.blkioWeight !== 'blkio.weight', !f.blkioWeight || f.blkioWeight !== 'blkio.bfq.weight', !f.memorySwap].filter(Boolean).length;
  assert.ok(compared >= COMPARE.length - absent - (dev ? 0 : 2) - 1, `compared ${compared}`);
});

/** Cgroup directories named `name` under TAG in any hierarchy (what a failed create must not leave). */
function tagDirs(name: string): string[] {
  const roots = [...layout!.v1.map((h) => h.mountPoint), ...(layout!.unified ? [layout!.unified.mountPoint] : [])];
  return roots.map((r) => path.join(r, TAG, name)).filter((d) => fs.existsSync(d));
}

/** `tsrun create` of a sleeping container with `resources`; returns the result, the id and whether a state dir is left. */
function createWith(name: string, resources: Record<string, unknown>): { status: number; stderr: string; id: string; stateLeft: boolean } {
  const b = sb.bundle({
    args: ['sleep', '300'],
    edit: (c) => {
      c.linux.cgroupsPath = `/${TAG}/${name}`;
      c.linux.resources = resources;
    },
  });
  const id = sb.id(name);
  const r = sb.tsrun(['create', '--bundle', b, id]);
  return { status: r.status, stderr: r.stderr, id, stateLeft: fs.existsSync(path.join(sb.root, id)) };
}

/** The one error line's message (runc's `time=… level=error msg="…"` shape). */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.is(lines.length, 1, stderr);
  return /msg="(.*)"$/.exec(lines[0])?.[1] ?? lines[0];
}

hostTest(test, 'hugepageLimits: a page size the host has is the container\'s hugetlb limit (v1 or the cgroup2 fallback); one it lacks fails create with one line, nothing left', () => needAll(needs.root(), needs.hugepages(), need(controllerOn('hugetlb'), 'no hugetlb controller on v1 or cgroup2')), () => {
  const [size] = host().hugepageSizes;
  const pageBytes = { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[size.slice(-2) as 'KB' | 'MB' | 'GB'] * Number(size.slice(0, -2));
  const ok = createWith('hp-ok', { hugepageLimits: [{ pageSize: size, limit: 2 * pageBytes }] });
  assert.is(ok.status, 0, ok.stderr);
  const onV1 = controllerOn('hugetlb') === 'v1';
  const file = onV1 ? path.join(layout!.v1.find((h) => h.controllers.includes('hugetlb'))!.mountPoint, TAG, 'hp-ok', `hugetlb.${size}.limit_in_bytes`) : path.join(layout!.unified!.mountPoint, TAG, 'hp-ok', `hugetlb.${size}.max`);
  assert.is(read(file), String(2 * pageBytes));
  assert.is(sb.tsrun(['delete', '--force', ok.id]).status, 0);
  const bogus = absentPageSize();
  const bad = createWith('hp-bad', { memory: { limit: 268435456 }, hugepageLimits: [{ pageSize: bogus, limit: 0 }] });
  assert.is(bad.status, 1);
  assert.match(oneLine(bad.stderr), new RegExp(`^linux\\.resources\\.hugepageLimits: page size ${bogus} is not supported by this host \\(supported: ${host().hugepageSizes.join(', ')}\\)$`));
  assert.not.ok(bad.stateLeft, 'no state dir');
  assert.equal(tagDirs('hp-bad'), [], 'no cgroup left');
});

hostTest(test, 'blockIO.weight without CFQ/BFQ: tsrun create fails with one line naming the field, nothing left (runc fails on the missing file too)', () => needAll(needs.root(), needs.v1('blkio'), need(!host().v1Files.blkioWeight, `this host has ${host().v1Files.blkioWeight}: the weight is checked side by side with runc`)), () => {
  const bad = createWith('bw', { pids: { limit: 50 }, blockIO: { weight: 300 } });
  assert.is(bad.status, 1);
  assert.match(oneLine(bad.stderr), /^linux\.resources\.blockIO\.weight: this host cannot weight block I\/O: .* has neither blkio\.weight \(CFQ scheduler\) nor blkio\.bfq\.weight \(BFQ scheduler not available\)$/);
  assert.not.ok(bad.stateLeft, 'no state dir');
  assert.equal(tagDirs('bw'), [], 'no cgroup left');
  if (!RUNC) return;
  const rb = sb.bundle({ args: ['true'], edit: (c) => { c.linux.cgroupsPath = `/${TAG}/bw-runc`; c.linux.resources = { blockIO: { weight: 300 } }; } });
  const rid = `tsrun-cgc-bw-${process.pid}`;
  runcIds.push(rid);
  const theirs = sb.exec([RUNC, '--root', runcRoot, 'create', '--bundle', rb, rid]);
  console.log(`  runc on the same config: exit ${theirs.status}: ${theirs.stderr.trim().split('\n').pop()}`);
  assert.is.not(theirs.status, 0, 'runc cannot honour it either');
});

test.run();
