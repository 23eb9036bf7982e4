/**
 * End-to-end test of the native spawn path: addon clone → sealed tsrun-init →
 * hand-written plan → READY → fifo release → exec. Needs root.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeRootfs } from '../../src/bundle/busybox';
import { encodePlan, frame } from '../../src/plan/wire';
import { Msg, Op, PlanStep } from '../../src/plan/ops';
import { cloneFlags, initHelperPath, mkfifo, spawnInit, SpawnInitRequest, waitPid } from '../../src/native/addon';
import { TsrunError } from '../../src/errors';

// <sys/mount.h>
const MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_BIND = 4096, MS_REC = 16384, MS_SLAVE = 1 << 19;
const RLIMIT_NOFILE = 7;
// CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE
const CAPS = (1 << 5) | (1 << 10) | (1 << 29);
const hex = (n: number): string => n.toString(16).padStart(16, '0');

const pids = new Set<number>();
const dirs: string[] = [];

function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

interface Message {
  type: number;
  payload: Buffer;
}

function readExactly(fd: number, n: number): Buffer | null {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    const r = fs.readSync(fd, buf, off, n - off, null);
    if (r === 0) return null;
    off += r;
  }
  return buf;
}

/** One framed message from the helper, or null on EOF. */
function readMessage(fd: number): Message | null {
  const hdr = readExactly(fd, 8);
  if (!hdr) return null;
  const len = hdr.readUInt32LE(4);
  const payload = len ? readExactly(fd, len) : Buffer.alloc(0);
  if (!payload) return null;
  return { type: hdr.readUInt32LE(0), payload };
}

function spawn(): { pid: number; syncFd: number } {
  const f = cloneFlags();
  const res = spawnInit({
    initPath: initHelperPath(),
    cloneFlags: f.NEWNS | f.NEWPID | f.NEWUTS | f.NEWIPC,
    preserveFds: 0,
    cloneParent: false,
  });
  pids.add(res.pid);
  assert.is(res.cloneParent, false);
  return res;
}

/** Spawns, sends the plan and returns the helper's answer. */
function runPlan(steps: PlanStep[]): { pid: number; msg: Message | null } {
  const { pid, syncFd } = spawn();
  try {
    fs.writeSync(syncFd, frame(Msg.Plan, encodePlan(steps)));
    const msg = readMessage(syncFd);
    // Two-phase READY: without the commit the helper exits at the socket's EOF.
    if (msg?.type === Msg.Ready) fs.writeSync(syncFd, frame(Msg.Commit));
    return { pid, msg };
  } finally {
    fs.closeSync(syncFd);
  }
}

async function reap(pid: number): Promise<{ exitCode: number | null; signal: number | null }> {
  const r = await waitPid(pid);
  pids.delete(pid);
  return r;
}

const mount = (source: string, dest: string, fstype: string, flags: number, data = '', kind = 'dir'): PlanStep => ({
  op: Op.Mount,
  fields: [source, dest, fstype, String(flags), data, '0', kind],
});

const SCRIPT = [
  'exec > /out/result 2>&1',
  'echo "pid=$$"',
  'echo "host=$(hostname)"',
  'echo "ids=$(id -u):$(id -g):$(id -G | tr " " ",")"',
  'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|SigBlk|SigIgn)" /proc/self/status | tr -d "\\t" | tr ":" "="',
  'echo "nofile=$(ulimit -n)/$(ulimit -Hn)"',
  'echo "cwd=$(pwd)"',
  'echo "proc=$(test -r /proc/self/status && echo yes || echo no)"',
  'echo "root=$(ls / | tr "\\n" " ")"',
  'echo "keys=$(stat -c %t:%T /proc/keys)"',
  'echo "secret=[$(cat /etc/secret)]"',
  'echo "secretdir=[$(ls /etc/secretdir)]"',
  'echo "rootfs=$(touch /rootfile 2>/dev/null && echo rw || echo ro)"',
  'echo "procsys=$(grep " /proc/sys " /proc/mounts | cut -d" " -f4 | cut -d, -f1)"',
  'echo "domain=$(cat /proc/sys/kernel/domainname)"',
  'echo "oom=$(cat /proc/self/oom_score_adj)"',
  'echo "umask=$(umask)"',
  'echo "env=$FOO"',
  'echo "fds=$(ls /proc/self/fd | tr "\\n" " ")"',
].join('\n');

test('a full plan runs as pid 1 with the planned mounts, identity and limits', async () => {
  const bundle = tempDir('tsrun-native-');
  const rootfs = path.join(bundle, 'rootfs');
  makeRootfs(rootfs);
  fs.writeFileSync(path.join(rootfs, 'etc/secret'), 'top secret\n');
  fs.mkdirSync(path.join(rootfs, 'etc/secretdir'));
  fs.writeFileSync(path.join(rootfs, 'etc/secretdir/key'), 'k');
  const out = tempDir('tsrun-native-out-');
  fs.chmodSync(out, 0o777);
  const fifo = path.join(bundle, 'exec.fifo');
  mkfifo(fifo, 0o600);
  assert.is(fs.statSync(fifo).mode & 0o7777, 0o600);

  const steps: PlanStep[] = [
    { op: Op.RootPropagation, fields: [String(MS_SLAVE | MS_REC)] },
    { op: Op.BindRootfs, fields: [rootfs] },
    mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC),
    mount('tmpfs', '/dev', 'tmpfs', MS_NOSUID, 'mode=755,size=65536k'),
    { op: Op.Mknod, fields: ['/dev/null', 'c', '1', '3', String(0o666), '0', '0', '/dev/null'] },
    { op: Op.Symlink, fields: ['/proc/self/fd', '/dev/fd'] },
    mount(out, '/out', '', MS_BIND | MS_REC),
    { op: Op.OpenFifo, fields: [fifo] },
    { op: Op.PivotRoot, fields: [] },
    { op: Op.Sysctl, fields: ['kernel/domainname', 'example.org'] },
    { op: Op.MaskPath, fields: ['/proc/keys'] },
    { op: Op.MaskPath, fields: ['/etc/secret'] },
    { op: Op.MaskPath, fields: ['/etc/secretdir'] },
    { op: Op.MaskPath, fields: ['/does/not/exist'] },
    { op: Op.ReadonlyPath, fields: ['/proc/sys'] },
    { op: Op.RootReadonly, fields: [] },
    { op: Op.Hostname, fields: ['tsrun-test'] },
    { op: Op.Rlimit, fields: [String(RLIMIT_NOFILE), '512', '1024'] },
    { op: Op.OomScoreAdj, fields: ['100'] },
    {
      op: Op.Identity,
      fields: ['1000', '1000', '1000,10', String(0o027), '1', hex(CAPS), hex(CAPS), hex(1 << 10), hex(CAPS), hex(1 << 10)],
    },
    { op: Op.Chdir, fields: ['/tmp'] },
    { op: Op.Ready, fields: [] },
    { op: Op.Exec, fields: ['/bin/sh', '0', '3', 'sh', '-c', SCRIPT, 'PATH=/bin', 'FOO=bar'] },
  ];
  const { pid, msg } = runPlan(steps);
  assert.ok(msg, 'helper closed the socket without answering');
  if (msg.type === Msg.Error) assert.unreachable(`MSG_ERROR: ${msg.payload.subarray(4).toString()}`);
  assert.is(msg.type, Msg.Ready);

  // Created, not started: the helper runs from the sealed memfd and waits.
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  assert.match(exe, /^\/memfd:tsrun-init/);
  assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^Name:\ttsrun-init$/m);
  assert.not.ok(fs.existsSync(path.join(out, 'result')));

  const w = fs.openSync(fifo, 'w');
  fs.writeSync(w, '0');
  fs.closeSync(w);
  const status = await reap(pid);
  assert.equal(status, { exitCode: 0, signal: null });

  const result = fs.readFileSync(path.join(out, 'result'), 'utf8');
  const kv = new Map(result.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const expect = (k: string, v: string | RegExp): void => {
    const got = kv.get(k) ?? '';
    if (typeof v === 'string') assert.is(got, v, `${k} in:\n${result}`);
    else assert.match(got, v, `${k} in:\n${result}`);
  };
  expect('pid', '1');
  expect('host', 'tsrun-test');
  expect('ids', '1000:1000:1000,10');
  expect('CapBnd', hex(CAPS));
  expect('CapInh', hex(1 << 10));
  expect('CapAmb', hex(1 << 10));
  expect('CapPrm', hex(1 << 10)); // non-root exec keeps only the ambient set
  expect('CapEff', hex(1 << 10));
  expect('NoNewPrivs', '1');
  expect('SigBlk', '0000000000000000');
  expect('SigIgn', '0000000000000000');
  expect('nofile', '512/1024');
  expect('cwd', '/tmp');
  expect('proc', 'yes');
  expect('root', /^bin dev etc home out proc root run sbin sys tmp usr var $/);
  expect('keys', '1:3'); // masked with the verified /dev/null
  expect('secret', '[]');
  expect('secretdir', '[]');
  expect('rootfs', 'ro');
  expect('procsys', 'ro');
  expect('domain', 'example.org');
  expect('oom', '100');
  expect('umask', '0027');
  expect('env', 'bar');
  expect('fds', /^0 1 2 3\s*$/); // 3 is ls's own directory fd: nothing leaked
});

/** Runs a plan that ends in `sh -c script` (no fifo) and returns the exit status. */
async function runScript(steps: PlanStep[], script: string, spawnOpts: Partial<SpawnInitRequest> = {}) {
  const f = cloneFlags();
  const res = spawnInit({
    initPath: initHelperPath(),
    cloneFlags: f.NEWNS | f.NEWPID | f.NEWUTS | f.NEWIPC,
    preserveFds: 0,
    cloneParent: false,
    ...spawnOpts,
  });
  pids.add(res.pid);
  let msg: Message | null;
  try {
    const exec: PlanStep = { op: Op.Exec, fields: ['/bin/sh', '0', '3', 'sh', '-c', script, 'PATH=/bin'] };
    fs.writeSync(res.syncFd, frame(Msg.Plan, encodePlan([...steps, exec])));
    msg = readMessage(res.syncFd);
  } finally {
    fs.closeSync(res.syncFd);
  }
  if (msg?.type === Msg.Error) assert.unreachable(`MSG_ERROR: ${msg.payload.subarray(4).toString()}`);
  assert.is(msg, null); // exec closes the socket: EOF, no message
  return reap(res.pid);
}

function scratchBundle(prefix: string): { rootfs: string; out: string; base: PlanStep[] } {
  const rootfs = path.join(tempDir(prefix), 'rootfs');
  makeRootfs(rootfs);
  const out = tempDir(`${prefix}out-`);
  fs.chmodSync(out, 0o777);
  const base: PlanStep[] = [
    { op: Op.RootPropagation, fields: [String(MS_SLAVE | MS_REC)] },
    { op: Op.BindRootfs, fields: [rootfs] },
    mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC),
    mount(out, '/out', '', MS_BIND),
  ];
  return { rootfs, out, base };
}

/** A cgroup2 directory and a v1 pids directory made for one test (undefined where the host has none). */
function scratchCgroups(name: string): { unified?: string; pids?: string } {
  const out: { unified?: string; pids?: string } = {};
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mnt, type, opts] = line.split(' ');
    if (type === 'cgroup2' && !out.unified) out.unified = path.join(mnt, name);
    if (type === 'cgroup' && opts.split(',').includes('pids') && !out.pids) out.pids = path.join(mnt, name);
  }
  for (const d of [out.unified, out.pids]) if (d) fs.mkdirSync(d);
  return out;
}

test('cgroups: born in the cgroup2 directory (CLONE_INTO_CGROUP), v1 joined by OP_JOIN_CGROUP before anything else', async () => {
  const cg = scratchCgroups(`tsrun-native-${process.pid}`);
  try {
    const { out, base } = scratchBundle('tsrun-native-cg-');
    const join: PlanStep[] = cg.pids ? [{ op: Op.JoinCgroup, fields: [path.join(cg.pids, 'tasks')] }] : [];
    const status = await runScript([...join, ...base, { op: Op.PivotRoot, fields: [] }], 'cat /proc/self/cgroup > /out/cgroup', cg.unified ? { intoCgroup: cg.unified } : {});
    assert.equal(status, { exitCode: 0, signal: null });
    const lines = fs.readFileSync(path.join(out, 'cgroup'), 'utf8').split('\n');
    const name = `/tsrun-native-${process.pid}`;
    if (cg.unified) assert.ok(lines.includes(`0::${name}`), lines.join(' | '));
    if (cg.pids) assert.ok(lines.some((l) => /^\d+:pids:/.test(l) && l.endsWith(name)), lines.join(' | '));
  } finally {
    for (const d of [cg.unified, cg.pids]) if (d) fs.rmdirSync(d);
  }
});

test('cgroups: a directory the kernel refuses for CLONE_INTO_CGROUP falls back to a plain clone', async () => {
  const f = cloneFlags();
  const res = spawnInit({ initPath: initHelperPath(), cloneFlags: f.NEWNS, preserveFds: 0, cloneParent: false, intoCgroup: os.tmpdir() });
  pids.add(res.pid);
  assert.is(res.inCgroup, false);
  fs.closeSync(res.syncFd);
  assert.equal(await reap(res.pid), { exitCode: 1, signal: null });
});

test('cgroups: a tasks file that cannot be written is a MSG_ERROR naming it', async () => {
  const { pid, msg } = runPlan([{ op: Op.JoinCgroup, fields: ['/nonexistent-cgroup/tasks'] }]);
  assert.ok(msg);
  assert.is(msg.type, Msg.Error);
  assert.is(msg.payload.subarray(4).toString(), 'join cgroup: open /nonexistent-cgroup/tasks: No such file or directory');
  assert.equal(await reap(pid), { exitCode: 1, signal: null });
});

test('without a /dev/null in the rootfs, files are masked with the host one', async () => {
  const { rootfs, out, base } = scratchBundle('tsrun-native-mask-');
  fs.writeFileSync(path.join(rootfs, 'etc/one'), 'one');
  fs.writeFileSync(path.join(rootfs, 'etc/two'), 'two');
  const steps: PlanStep[] = [
    ...base,
    { op: Op.PivotRoot, fields: [] },
    { op: Op.MaskPath, fields: ['/etc/one'] },
    { op: Op.MaskPath, fields: ['/etc/two'] },
  ];
  const status = await runScript(steps, 'echo "[$(cat /etc/one /etc/two)] $(stat -c %t:%T /etc/one /etc/two | tr "\\n" " ")" > /out/r');
  assert.equal(status, { exitCode: 0, signal: null });
  assert.is(fs.readFileSync(path.join(out, 'r'), 'utf8'), '[] 1:3 1:3 \n');
});

test('user namespace: the addon writes the maps, mknod falls back to a bind', async () => {
  const { out, base } = scratchBundle('tsrun-native-userns-');
  const f = cloneFlags();
  const steps: PlanStep[] = [
    ...base,
    { op: Op.Mknod, fields: ['/dev/null', 'c', '1', '3', String(0o666), '0', '0', '/dev/null'] },
    { op: Op.PivotRoot, fields: [] },
  ];
  const script = 'echo "$(id -u) $(stat -c %t:%T /dev/null) $(grep CapEff /proc/self/status | tr -d "\\t")" > /out/r; echo x > /dev/null';
  const status = await runScript(steps, script, {
    cloneFlags: f.NEWUSER | f.NEWNS | f.NEWPID,
    uidMap: '0 0 65536',
    gidMap: '0 0 65536',
  });
  assert.equal(status, { exitCode: 0, signal: null });
  assert.match(fs.readFileSync(path.join(out, 'r'), 'utf8'), /^0 1:3 CapEff:(?!0{16})[0-9a-f]{16}\n$/);
});

test('a missing bind source fails with MSG_ERROR naming the path', async () => {
  const rootfs = path.join(tempDir('tsrun-native-err-'), 'rootfs');
  makeRootfs(rootfs);
  const missing = '/nonexistent-tsrun-bind-source';
  const { pid, msg } = runPlan([
    { op: Op.RootPropagation, fields: [String(MS_SLAVE | MS_REC)] },
    { op: Op.BindRootfs, fields: [rootfs] },
    mount(missing, '/mnt', '', MS_BIND | MS_RDONLY),
    { op: Op.Exec, fields: ['/bin/true', '0', '1', 'true'] },
  ]);
  assert.ok(msg);
  assert.is(msg.type, Msg.Error);
  assert.is(msg.payload.readInt32LE(0), 2 /* ENOENT */);
  const text = msg.payload.subarray(4).toString();
  assert.ok(text.includes(missing), text);
  assert.ok(text.endsWith('No such file or directory'), text);
  const status = await reap(pid);
  assert.equal(status, { exitCode: 1, signal: null });
});

test('exec of a missing program before READY reports MSG_ERROR', async () => {
  const rootfs = path.join(tempDir('tsrun-native-noexec-'), 'rootfs');
  makeRootfs(rootfs);
  const { pid, msg } = runPlan([
    { op: Op.RootPropagation, fields: [String(MS_SLAVE | MS_REC)] },
    { op: Op.BindRootfs, fields: [rootfs] },
    { op: Op.PivotRoot, fields: [] },
    { op: Op.Exec, fields: ['/bin/nope', '0', '1', 'nope'] },
  ]);
  assert.ok(msg);
  assert.is(msg.type, Msg.Error);
  assert.is(msg.payload.subarray(4).toString(), 'exec /bin/nope: No such file or directory');
  assert.equal(await reap(pid), { exitCode: 1, signal: null });
});

test('EOF before the plan makes the helper exit 1 silently', async () => {
  const { pid, syncFd } = spawn();
  fs.closeSync(syncFd);
  assert.equal(await reap(pid), { exitCode: 1, signal: null });
});

test('native errors become TsrunError with errno and syscall', () => {
  try {
    mkfifo('/nonexistent-dir-tsrun/fifo', 0o600);
    assert.unreachable('mkfifo should fail');
  } catch (e) {
    assert.instance(e, TsrunError);
    const err = e as TsrunError;
    assert.is(err.context.errno, 2);
    assert.is(err.context.syscall, 'mkfifo');
    assert.is(err.message, 'mkfifo /nonexistent-dir-tsrun/fifo: No such file or directory');
  }
  try {
    spawnInit({ initPath: '/nonexistent/tsrun-init', cloneFlags: 0, preserveFds: 0, cloneParent: false });
    assert.unreachable('spawnInit should fail');
  } catch (e) {
    assert.instance(e, TsrunError);
    assert.is((e as TsrunError).context.syscall, 'open');
  }
});

test('CLONE_NEWTIME (inside CSIGNAL) is never passed to clone: refused with a clear error', () => {
  try {
    const res = spawnInit({ initPath: initHelperPath(), cloneFlags: cloneFlags().NEWTIME, preserveFds: 0, cloneParent: false });
    pids.add(res.pid);
    fs.closeSync(res.syncFd);
    assert.unreachable(`cloned pid ${res.pid} with CLONE_NEWTIME as a clone flag`);
  } catch (e) {
    assert.instance(e, TsrunError);
    assert.is((e as TsrunError).context.errno, 22);
    assert.match((e as Error).message, /CLONE_NEWTIME is not a clone flag/);
  }
});

test('a bootstrap (MSG_BOOTSTRAP) ends in OP_FORK: the pid returned is the child, pid 1 of the namespace unshared before it', async () => {
  const res = spawnInit({
    initPath: initHelperPath(),
    cloneFlags: 0,
    bootstrap: encodePlan([{ op: Op.Unshare, fields: ['uts', 'pid', 'mnt'] }, { op: Op.Fork, fields: [] }]),
    preserveFds: 0,
    cloneParent: false,
  });
  pids.add(res.pid);
  try {
    const status = fs.readFileSync(`/proc/${res.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`\\nNSpid:\\s+${res.pid}\\s+1\\n`));
    assert.is.not(fs.readlinkSync(`/proc/${res.pid}/ns/uts`), fs.readlinkSync('/proc/self/ns/uts'));
    assert.is(fs.readFileSync(`/proc/${res.pid}/status`, 'utf8').match(/\nPPid:\s+(\d+)/)![1], String(process.pid), 'CLONE_PARENT: our child, not the exited intermediate\'s');
  } finally {
    fs.closeSync(res.syncFd);
  }
  assert.equal(await reap(res.pid), { exitCode: 1, signal: null });
});

test.after(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

if (process.getuid?.() !== 0) {
  console.log('native.test: skipped (needs root)');
} else {
  test.run();
}
