/**
 * A create that dies or cannot finish leaves nothing behind (root, real
 * containers): SIGKILL of tsrun at every named step of create
 * (TSRUN_TEST_KILL_AT), then `delete --force`, leaves no init, cgroup, state
 * or mount; the init exits by itself when its creator dies before MSG_COMMIT;
 * a frozen cgroup is refused instead of hanging; a failed mount-fd send kills
 * the init instead of leaving it waiting; `state` shows `creating` while a
 * create runs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostLayout, type Layout } from '../../src/cgroups';
import { makeRootfs } from '../../src/bundle/busybox';
import { sendMountFds } from '../../src/lifecycle/mount-fds';
import { cloneFlags, initHelperPath, mkfifo, spawnInit, waitPid } from '../../src/native/addon';
import { Msg, Op, type PlanStep } from '../../src/plan/ops';
import { encodePlan, frame } from '../../src/plan/wire';
import { killAndRemoveCgroup } from '../helpers/cgroups';
import { Sandbox, TSRUN, cleanEnv, isRoot, sleep } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-crashsafe-');
const ROOT = isRoot();
const layout: Layout | undefined = ROOT ? hostLayout() : undefined;
const TAG = `tsrun-crash-${process.pid}`;
const madeCgroups: string[] = [];

test.after(() => {
  sb.cleanup();
  for (const d of madeCgroups) killAndRemoveCgroup(d);
  for (const m of mountPoints()) killAndRemoveCgroup(path.join(m, TAG));
});

/** Every cgroup hierarchy's mount point (v1 and the unified one). */
function mountPoints(): string[] {
  if (!layout) return [];
  return [...layout.v1.map((h) => h.mountPoint), ...(layout.unified ? [layout.unified.mountPoint] : [])];
}

/** Live (not zombie) children of this process: a CLONE_PARENT init of a killed create would be one. */
function liveChildren(): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid && f[0] !== 'Z' && f[0] !== 'X') out.push(Number(p));
    } catch {
      /* exited */
    }
  }
  return out;
}

function waitUntil(what: string, cond: () => boolean, ms = 5_000): void {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    sleep(10);
  }
}

/** No init, no cgroup, no state dir or lock, no mount of the sandbox. */
function assertNothingLeft(id: string, where: string): void {
  waitUntil(`${where}: the init of ${id} is gone (live children: ${liveChildren().join(' ')})`, () => liveChildren().length === 0);
  for (const m of mountPoints()) assert.not.ok(fs.existsSync(path.join(m, TAG)), `${where}: cgroup ${path.join(m, TAG)} left`);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)), `${where}: state dir left`);
  assert.not.ok(fs.existsSync(path.join(sb.root, `.${id}.lock`)), `${where}: lock left`);
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  assert.not.ok(mounts.includes(sb.dir), `${where}: a mount under ${sb.dir} left`);
}

function crashBundle(opts: { userns?: boolean; hooks?: boolean } = {}): string {
  return sb.bundle({
    args: ['sleep', '100'],
    edit: (c) => {
      c.linux.cgroupsPath = `/${TAG}/c`;
      if (opts.userns) {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
      if (opts.hooks) c.hooks = { prestart: [{ path: '/bin/true' }], createRuntime: [{ path: '/bin/true' }] };
    },
  });
}

// Every step boundary of create, in its order (src/lifecycle/create.ts killPoint).
const POINTS = [
  'validated', 'locked', 'state-dir', 'provisional', 'exec-fifo', 'cgroup-planned', 'cgroup-made', 'spawned',
  'init-recorded', 'plan-built', 'cgroup-joined', 'host-extras', 'plan-sent', 'mount-fds', 'ready', 'state-written',
  'pid-file', 'committed',
];
// With a new user namespace the init is cloned before its cgroups exist; with hooks, create pauses for them.
const USERNS_POINTS = ['userns-fifos', 'spawned', 'init-recorded', 'cgroup-planned', 'cgroup-made', 'plan-built', 'cgroup-joined', 'plan-sent', 'ready', 'committed'];
const HOOK_POINTS = ['runtime-hooks', 'runtime-hooks-done', 'ready'];

function killAt(bundle: string, point: string, variant: string): void {
  const id = sb.id('k');
  const where = `${variant} ${point}`;
  const pidFile = path.join(sb.dir, `${id}.pid`);
  const r = sb.exec([TSRUN, '--root', sb.root, 'create', '--bundle', bundle, '--pid-file', pidFile, id], { env: { TSRUN_TEST_KILL_AT: point } });
  assert.is(r.signal, 'SIGKILL', `${where}: create must have killed itself (status ${r.status}: ${r.stderr})`);
  // What a caller sees of a create whose creator died.
  const st = sb.tsrun(['state', id]);
  if (st.status === 0) {
    const s = JSON.parse(st.stdout) as { status: string; pid: number };
    if (point === 'committed') assert.is(s.status, 'created', where);
    else assert.equal([s.status, s.pid], ['stopped', 0], `${where}: a dead creator's record`);
    if (point === 'ready') {
      const list = JSON.parse(sb.tsrun(['list', '--format', 'json']).stdout) as { id: string; status: string }[];
      assert.equal(list.find((c) => c.id === id)?.status, 'stopped', `${where}: list shows it`);
    }
  } else {
    assert.match(st.stderr, /container does not exist/, where);
  }
  const d = sb.tsrun(['delete', '--force', id]);
  assert.is(d.status, 0, `${where}: delete --force: ${d.stderr}`);
  assertNothingLeft(id, where);
  fs.rmSync(pidFile, { force: true });
}

test('SIGKILL of create at every step, then delete --force: no init, cgroup, state dir, lock or mount is left', () => {
  if (!ROOT) return console.log('  skipped: needs root');
  const b = crashBundle();
  for (const p of POINTS) killAt(b, p, 'default');
  const h = crashBundle({ hooks: true });
  for (const p of HOOK_POINTS) killAt(h, p, 'hooks');
});

test('SIGKILL of create with a new user namespace (init cloned before its cgroups), then delete --force: nothing left', () => {
  if (!ROOT) return console.log('  skipped: needs root');
  fs.chmodSync(sb.dir, 0o755); // the container's root (host uid 100000) walks to the rootfs
  const b = crashBundle({ userns: true });
  const ok = sb.tsrun(['run', '--bundle', b, sb.id('probe')]);
  if (ok.status !== 0 && /user namespace|uid_map|EPERM|Operation not permitted/.test(ok.stderr)) return console.log(`  skipped: no user namespaces here (${ok.stderr.trim()})`);
  for (const p of USERNS_POINTS) killAt(b, p, 'userns');
});

test('the creator died after READY: `delete` without --force removes the stopped record and its cgroups', () => {
  if (!ROOT) return console.log('  skipped: needs root');
  const id = sb.id('k');
  const r = sb.exec([TSRUN, '--root', sb.root, 'create', '--bundle', crashBundle(), id], { env: { TSRUN_TEST_KILL_AT: 'ready' } });
  assert.is(r.signal, 'SIGKILL');
  assert.is(sb.state(id).status, 'stopped');
  const d = sb.tsrun(['delete', id]);
  assert.is(d.status, 0, d.stderr);
  assertNothingLeft(id, 'delete');
});

test('state shows "creating" while create runs (asked from a createRuntime hook)', () => {
  if (!ROOT) return console.log('  skipped: needs root');
  const id = sb.id('h');
  const out = path.join(sb.dir, `${id}.state`);
  const b = sb.bundle({
    args: ['true'],
    edit: (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `${TSRUN} --root ${sb.root} state ${id} > ${out}`], env: [`PATH=${process.env.PATH}`] }] };
    },
  });
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  const during = JSON.parse(fs.readFileSync(out, 'utf8')) as { status: string; pid: number };
  assert.is(during.status, 'creating');
  assert.ok(during.pid > 0, 'the init pid is recorded by then');
  assert.is(sb.state(id).status, 'created');
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

/** A cgroup directory made by the test (cleaned up in after()). */
function ownCgroup(mount: string, name: string): string {
  const d = path.join(mount, name);
  fs.mkdirSync(d);
  madeCgroups.push(d);
  return d;
}

function assertFrozenRefused(cgroupsPath: string, preexisting: string): void {
  const id = sb.id('f');
  const b = sb.bundle({ args: ['true'], edit: (c) => (c.linux.cgroupsPath = cgroupsPath) });
  const r = sb.tsrun(['create', '--bundle', b, id], { timeoutMs: 15_000 });
  assert.is(r.status, 1, `create must fail at once, not hang (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  assert.match(r.stderr, /container's cgroup unexpectedly frozen/);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)), 'no state dir');
  assert.equal(fs.readFileSync(path.join(preexisting, 'cgroup.procs'), 'utf8').trim(), '', 'nobody joined the frozen cgroup');
  for (const m of mountPoints()) {
    const d = path.join(m, cgroupsPath);
    if (d !== preexisting) assert.not.ok(fs.existsSync(d), `cgroup ${d} made by create is removed`);
  }
  assert.equal(liveChildren(), []);
}

test('a frozen v1 freezer cgroupsPath is refused: "container\'s cgroup unexpectedly frozen", nothing left', () => {
  const freezer = layout?.v1.find((h) => h.controllers.includes('freezer'));
  if (!ROOT || !freezer) return console.log('  skipped: needs root and a v1 freezer hierarchy');
  const name = `${TAG}-frozen1`;
  const d = ownCgroup(freezer.mountPoint, name);
  fs.writeFileSync(path.join(d, 'freezer.state'), 'FROZEN');
  assertFrozenRefused(`/${name}`, d);
});

test('a v2 cgroupsPath with cgroup.freeze 1 is refused, nothing left', () => {
  const unified = layout?.unified?.mountPoint;
  if (!ROOT || !unified) return console.log('  skipped: needs root and a cgroup2 hierarchy');
  const name = `${TAG}-frozen2`;
  const d = ownCgroup(unified, name);
  if (!fs.existsSync(path.join(d, 'cgroup.freeze'))) return console.log('  skipped: no cgroup.freeze (kernel < 5.2)');
  fs.writeFileSync(path.join(d, 'cgroup.freeze'), '1');
  assertFrozenRefused(`/${name}`, d);
});

test('init: EOF on the sync socket after READY (creator died before MSG_COMMIT) makes it exit; MSG_COMMIT makes it wait on the fifo', async () => {
  if (!ROOT) return console.log('  skipped: needs root');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-crashsafe-init-'));
  try {
    makeRootfs(path.join(dir, 'rootfs'));
    const fifo = path.join(dir, 'exec.fifo');
    mkfifo(fifo, 0o600);
    const steps: PlanStep[] = [
      { op: Op.OpenFifo, fields: [fifo] },
      { op: Op.Ready, fields: [] },
      { op: Op.Exec, fields: ['/bin/true', '0', '1', 'true', 'PATH=/bin'] },
    ];
    const start = (): { pid: number; syncFd: number } => {
      const f = cloneFlags();
      const res = spawnInit({ initPath: initHelperPath(), cloneFlags: f.NEWPID | f.NEWIPC, preserveFds: 0, cloneParent: false });
      fs.writeSync(res.syncFd, frame(Msg.Plan, encodePlan(steps)));
      const hdr = Buffer.alloc(8);
      assert.is(fs.readSync(res.syncFd, hdr, 0, 8, null), 8);
      assert.is(hdr.readUInt32LE(0), Msg.Ready);
      return res;
    };
    const waits = new Map<number, Promise<true>>();
    const exited = async (pid: number, ms: number): Promise<boolean> => {
      if (!waits.has(pid)) waits.set(pid, waitPid(pid).then(() => true as const));
      const timer = new Promise<false>((r) => setTimeout(() => r(false), ms));
      return Promise.race([waits.get(pid)!, timer]);
    };

    const a = start();
    fs.closeSync(a.syncFd); // the creator "dies" between READY and COMMIT
    const gone = await exited(a.pid, 3000);
    if (!gone) process.kill(a.pid, 'SIGKILL');
    assert.ok(gone, 'the init exits at EOF instead of waiting on the exec fifo forever');

    const b = start();
    fs.writeSync(b.syncFd, frame(Msg.Commit));
    fs.closeSync(b.syncFd);
    const early = await exited(b.pid, 300);
    assert.not.ok(early, 'after COMMIT it waits for start');
    const w = fs.openSync(fifo, 'w');
    fs.writeSync(w, '0');
    fs.closeSync(w);
    assert.ok(await exited(b.pid, 3000), 'and execs once released');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sendMountFds: a failed send kills the init (it would wait for the fd forever) and returns the error', async () => {
  if (!ROOT) return console.log('  skipped: needs root');
  // A process in its own user namespace stands in for the init (the idmap needs one).
  const child = spawn('unshare', ['--user', '--map-root-user', 'sleep', '30'], { stdio: 'ignore', env: cleanEnv() });
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrun-crashsafe-src-'));
  const notSocket = fs.openSync(path.join(src, 'file'), 'w');
  try {
    const own = fs.readlinkSync('/proc/self/ns/user');
    waitUntil('unshare entered its user namespace', () => {
      try {
        return fs.readlinkSync(`/proc/${child.pid}/ns/user`) !== own;
      } catch {
        return false;
      }
    });
    const step: PlanStep = { op: Op.MountTreeFd, fields: ['/mnt', 'dir', src, '0', '0', '', '', ''] };
    let err: Error | undefined;
    try {
      err = sendMountFds([step], notSocket, child.pid!);
    } catch (e) {
      return console.log(`  skipped: cannot make an idmapped tree here (${(e as Error).message})`);
    }
    assert.ok(err, 'the send error is returned');
    const exit = await new Promise<NodeJS.Signals | null>((resolve) => {
      const t = setTimeout(() => resolve(null), 3000);
      child.once('exit', (_code, sig) => {
        clearTimeout(t);
        resolve(sig);
      });
    });
    assert.is(exit, 'SIGKILL', 'the waiting process was killed');
  } finally {
    fs.closeSync(notSocket);
    child.kill('SIGKILL');
    fs.rmSync(src, { recursive: true, force: true });
  }
});

test.run();
