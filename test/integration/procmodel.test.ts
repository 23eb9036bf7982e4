/**
 * The process model (src/plan/ns-order.ts) against real containers: no
 * process of ours is visible in a container's pid namespace before it is in
 * its mount namespace (the exec escape of CVE-2016-9962's class), a new user
 * namespace joins a netns by path, a terminal in a new user namespace, and
 * the spawn-side defects (preserved fds, the caller's O_NONBLOCK).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TtyReceiver, readAll } from '../helpers/recvtty';
import { Sandbox, TSRUN, cleanEnv, sleep } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-procmodel-');
fs.chmodSync(sb.dir, 0o755); // a user-namespaced container's root (a high host uid) must reach the bundles
const netns: string[] = [];
test.after(() => {
  sb.cleanup();
  for (const n of netns) spawnSync('ip', ['netns', 'del', n]);
});

const HOST = 200000;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function chownTree(p: string, uid: number): void {
  fs.lchownSync(p, uid, uid);
  if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), uid);
}

function usernsBundle(args: string[], edit?: (c: Record<string, any>) => void, terminal = false): string {
  const b = sb.bundle({
    args,
    terminal,
    edit: (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
      c.mounts = c.mounts.filter((m: any) => m.type !== 'sysfs' && m.type !== 'cgroup');
      edit?.(c);
    },
  });
  chownTree(path.join(b, 'rootfs'), HOST);
  return b;
}

/** A container whose init watches every new pid for a host-only path under /proc/<pid>/root (CAP_SYS_PTRACE). */
function startWatcher(name: string): { id: string; out: string; pid: number } {
  const out = path.join(sb.dir, `${name}-out`);
  fs.mkdirSync(out);
  const watcher = [
    'M="$1"; : > /out/hits; : > /out/ready',
    'while :; do for p in /proc/[0-9]*; do [ -e "$p/root$M" ] && echo "${p#/proc/}" >> /out/hits; done; done',
  ].join('\n');
  const b = sb.bundle({
    args: ['sh', '-c', watcher, 'watch', sb.dir],
    edit: (c) => {
      for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set].push('CAP_SYS_PTRACE');
      c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    },
  });
  const id = sb.id(name);
  const r = sb.tsrun(['run', '-d', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  const end = Date.now() + 10_000;
  while (!fs.existsSync(path.join(out, 'ready')) && Date.now() < end) sleep(10);
  return { id, out, pid: sb.state(id).pid };
}

const hitsOf = (out: string) => [...new Set(fs.readFileSync(path.join(out, 'hits'), 'utf8').trim().split('\n').filter(Boolean))];

test('exec: a container with CAP_SYS_PTRACE watching for new pids never sees the host\'s root', () => {
  const { id, out } = startWatcher('watch');
  for (let i = 0; i < 15; i++) {
    const r = sb.tsrun(['exec', id, 'true']);
    assert.is(r.status, 0, r.stderr);
  }
  const hits = hitsOf(out);
  assert.equal(hits, [], `pids seen with the host's root from inside the container: ${hits.join(' ')}`);
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

/** Points the bundle's pid namespace (and more) at another container's by path. */
function joinNs(c: Record<string, any>, pid: number, types: string[]): void {
  for (const t of types) {
    const p = `/proc/${pid}/ns/${t === 'network' ? 'net' : t}`;
    if (!c.linux.namespaces.some((n: any) => n.type === t)) c.linux.namespaces.push({ type: t });
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === t ? { type: t, path: p } : n));
  }
}

test('create joining another container\'s pid namespace by path: its members with CAP_SYS_PTRACE never see the host\'s root', () => {
  const a = startWatcher('pwatch');
  const b = sb.bundle({ args: ['true'], edit: (c) => joinNs(c, a.pid, ['pid']) });
  for (let i = 0; i < 10; i++) {
    const r = sb.tsrun(['run', '--bundle', b, sb.id('pjoin')]);
    assert.is(r.status, 0, r.stderr);
  }
  assert.equal(hitsOf(a.out), [], `pids seen with the host's root from inside the pid namespace: ${hitsOf(a.out).join(' ')}`);
  assert.is(sb.tsrun(['delete', '--force', a.id]).status, 0);
});

/** What a container joining A's pid namespace sees: A's init, its pid namespace, its masked /proc files and dirs. */
const PROBE = [
  'tr "\\0" " " < /proc/1/cmdline; echo',
  'readlink /proc/self/ns/pid',
  'for f in /proc/keys /proc/timer_list /proc/kcore /proc/sched_debug; do [ -e $f ] && { [ -c $f ] && echo "masked $f" || echo "OPEN $f"; }; done',
  'for d in /proc/acpi /proc/scsi /proc/asound; do [ -d $d ] && { [ -z "$(ls -A $d)" ] && echo "masked $d" || echo "OPEN $d"; }; done',
  'ps -o args | grep -c "^sleep 1000"',
].join('; ');

function checkJoined(r: { status: number; stdout: string; stderr: string }, aPid: number, warned?: RegExp): void {
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines[0].trim(), 'sleep 1000', "pid 1 of B's /proc is A's init");
  assert.is(lines[1], fs.readlinkSync(`/proc/${aPid}/ns/pid`), "B's pid namespace is A's");
  assert.is(lines[lines.length - 1], '1', "ps in B lists A's init");
  const masks = lines.slice(2, -1);
  assert.ok(masks.length > 0 || !['/proc/keys', '/proc/timer_list', '/proc/kcore', '/proc/acpi'].some((f) => fs.existsSync(f)), 'some masked path was probed');
  for (const m of masks) assert.match(m, /^masked /);
  if (warned) assert.match(r.stderr, warned);
  else assert.not.match(r.stderr, /pid namespace joined by path/, 'no warning: the late order applies');
}

for (const noPivot of [false, true]) {
  test(`a container joining a pid namespace by path${noPivot ? ' (--no-pivot)' : ''}: sees its processes, its /proc is that namespace's, masked paths masked`, () => {
    const a = sb.tsrun(['run', '-d', '--bundle', sb.bundle({ args: ['sleep', '1000'] }), sb.id('pa')]);
    assert.is(a.status, 0, a.stderr);
    const aId = [...(sb as any).ids].pop() as string;
    const aPid = sb.state(aId).pid;
    const b = sb.bundle({ args: ['sh', '-c', PROBE], edit: (c) => joinNs(c, aPid, ['pid']) });
    checkJoined(sb.tsrun(['run', ...(noPivot ? ['--no-pivot'] : []), '--bundle', b, sb.id('pb')]), aPid);
    assert.is(sb.tsrun(['delete', '--force', aId]).status, 0);
  });
}

test('a container joining the user and pid namespaces of a user-namespaced container: the same (--no-pivot: runc\'s order, warned)', () => {
  const aId = sb.id('pua');
  const a = sb.tsrun(['run', '-d', '--bundle', usernsBundle(['sleep', '1000']), aId]);
  assert.is(a.status, 0, a.stderr);
  const aPid = sb.state(aId).pid;
  const b = usernsBundle(['sh', '-c', PROBE], (c) => {
    joinNs(c, aPid, ['user', 'pid']);
    delete c.linux.uidMappings;
    delete c.linux.gidMappings;
  });
  checkJoined(sb.tsrun(['run', '--bundle', b, sb.id('pub')]), aPid);
  checkJoined(sb.tsrun(['run', '--no-pivot', '--bundle', b, sb.id('pub')]), aPid, /--no-pivot in a user namespace/);
  assert.is(sb.tsrun(['delete', '--force', aId]).status, 0);
});

test('joining a pid namespace by path with a createRuntime hook: runc\'s order, and a warning that says why', () => {
  const a = sb.tsrun(['run', '-d', '--bundle', sb.bundle({ args: ['sleep', '1000'] }), sb.id('pha')]);
  assert.is(a.status, 0, a.stderr);
  const aId = [...(sb as any).ids].pop() as string;
  const aPid = sb.state(aId).pid;
  const mark = path.join(sb.dir, 'hook-ran');
  const b = sb.bundle({
    args: ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'],
    edit: (c) => {
      joinNs(c, aPid, ['pid']);
      c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${mark}`] }] };
    },
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id('phb')]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'sleep 1000');
  assert.match(r.stderr, /pid namespace joined by path: createRuntime hooks need the container's pid before pivot_root/);
  const state = JSON.parse(fs.readFileSync(mark, 'utf8'));
  assert.ok(state.pid > 0, 'the hook got a pid');
  assert.is(sb.tsrun(['delete', '--force', aId]).status, 0);
});

test('new user namespace + a network namespace joined by path: runs, and sees the joined netns', () => {
  if (!has('ip')) {
    console.log('  skip: no ip(8) to make a named network namespace');
    return;
  }
  const name = `tsrun-pm-${process.pid}`;
  const dev = `pm${process.pid}`.slice(0, 15);
  execFileSync('ip', ['netns', 'add', name]);
  netns.push(name);
  // An interface only that namespace has (veth: the dummy module is not everywhere).
  execFileSync('ip', ['-n', name, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`.slice(0, 15)]);
  const b = usernsBundle(['sh', '-c', 'cat /proc/net/dev; id -u; readlink /proc/self/ns/net'], (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${name}` } : n));
  });
  const id = sb.id();
  const r = sb.tsrun(['run', '--bundle', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`\\b${dev}:`), 'the joined netns\' interface');
  const lines = r.stdout.trim().split('\n');
  assert.is(lines[lines.length - 2], '0', 'root of its own user namespace');
  const st = fs.statSync(`/run/netns/${name}`);
  assert.is(lines[lines.length - 1], `net:[${st.ino}]`);
});

test('terminal in a new user namespace: the console socket (unreachable from inside) is connected by the runtime', () => {
  const r = new TtyReceiver(); // in a 0700 directory of the host's root: the container's uid cannot reach it
  try {
    const b = usernsBundle(['sh', '-c', 'busybox tty; id -u'], undefined, true);
    const id = sb.id();
    const c = sb.tsrun(['create', '--bundle', b, '--console-socket', r.path, id]);
    assert.is(c.status, 0, c.stderr);
    const got = r.receive();
    assert.equal(got.problems, []);
    assert.is(sb.tsrun(['start', id]).status, 0);
    const out = readAll(got.master).replace(/\r/g, '').trim().split('\n');
    fs.closeSync(got.master);
    assert.match(out[0], /^\/dev\/pts\/\d+$/);
    assert.is(out[1], '0');
  } finally {
    r.close();
  }
});

test('--preserve-fds beyond the fds the caller passed is refused; the runtime\'s own fds never reach the container', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'ls -l /proc/self/fd/'] });
  const id = sb.id();
  // Only 0-2 (and fd 3) are the caller's; 3..62 are not all open.
  const f = path.join(sb.dir, 'one.txt');
  fs.writeFileSync(f, 'x');
  const r = spawnSync('sh', ['-c', `exec 3<${f}; exec ${TSRUN} --root ${sb.root} run --preserve-fds 60 --bundle ${b} ${id}`], { encoding: 'utf8', env: cleanEnv() });
  assert.is.not(r.status, 0, `ran with fds the caller never passed: ${r.stdout}`);
  assert.match(r.stderr, /preserve-fds 60: fd \d+ is not open/);
  assert.not.match(r.stdout, /memfd:tsrun-init/);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)), 'nothing left behind');
});

test('--preserve-fds with a gap in the caller\'s fds (fd 4 closed): refused, none of Node\'s own fds fills it', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'ls -l /proc/self/fd/'] });
  const f = path.join(sb.dir, 'two.txt');
  fs.writeFileSync(f, 'x');
  const run = (redirects: string, id: string) =>
    spawnSync('sh', ['-c', `${redirects}; exec ${TSRUN} --root ${sb.root} run --preserve-fds 2 --bundle ${b} ${id}`], { encoding: 'utf8', env: cleanEnv() });
  const gap = sb.id();
  const r = run(`exec 3<${f}`, gap);
  assert.is.not(r.status, 0, `ran with an fd the caller never passed: ${r.stdout}`);
  assert.match(r.stderr, /preserve-fds 2: fd 4 is not open/);
  assert.not.match(r.stdout, /anon_inode|eventpoll|eventfd/);
  assert.not.ok(fs.existsSync(path.join(sb.root, gap)), 'nothing left behind');
  // Both passed: both reach the container.
  const ok = run(`exec 3<${f} 4<${f}`, sb.id());
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(` 3 -> ${f}`));
  assert.match(ok.stdout, new RegExp(` 4 -> ${f}`));
  // exec too.
  const id = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', sb.bundle({ args: ['sleep', '1000'] }), id]).status, 0);
  const ex = spawnSync('sh', ['-c', `exec 3<${f}; exec ${TSRUN} --root ${sb.root} exec --preserve-fds 2 ${id} ls -l /proc/self/fd/`], { encoding: 'utf8', env: cleanEnv() });
  assert.is.not(ex.status, 0, `exec ran with an fd the caller never passed: ${ex.stdout}`);
  assert.match(ex.stderr, /preserve-fds 2: fd 4 is not open/);
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test('the caller\'s stdout keeps its O_NONBLOCK (a shared file description is not changed)', () => {
  if (!has('python3')) {
    console.log('  skip: no python3 to hand tsrun a non-blocking pipe');
    return;
  }
  const b = sb.bundle({ args: ['sh', '-c', 'echo hi'] });
  const id = sb.id();
  const py = [
    'import os, subprocess',
    'r, w = os.pipe()',
    'os.set_blocking(w, False)',
    `p = subprocess.run([${JSON.stringify(TSRUN)}, '--root', ${JSON.stringify(sb.root)}, 'run', '--bundle', ${JSON.stringify(b)}, ${JSON.stringify(id)}], stdout=w, stderr=subprocess.DEVNULL)`,
    'nb = not os.get_blocking(w)',
    'os.close(w)',
    'print(p.returncode, os.read(r, 100).decode().strip(), nb)',
  ].join('\n');
  const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', env: cleanEnv() });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '0 hi True');
});

test.run();
