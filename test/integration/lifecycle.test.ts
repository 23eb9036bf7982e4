/**
 * Real containers, as root: the lifecycle contract callers rely on, checked
 * from outside (state, pid-file, exit codes, rollback) and from inside
 * (pid 1, fds, signal dispositions, stdio flags).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox, TSRUN, cleanEnv, sleep } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-lifecycle-');
test.after(() => sb.cleanup());

function initHelpers(): number {
  let n = 0;
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      // Zombies are exited processes waiting for their parent (the caller) to reap them.
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.includes('(tsrun-init)') && !/\) Z /.test(stat)) n++;
    } catch {
      /* exited */
    }
  }
  return n;
}

test('run: the process is pid 1 with the configured hostname, and its exit status is returned', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'echo pid=$$; hostname; exit 7'] });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 7, r.stderr);
  assert.match(r.stdout, /^pid=1\ntsrun\n$/);
});

test('create → created → start → running → stopped → delete', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.05; done'] });
  const id = sb.id();
  const pidFile = path.join(sb.dir, `${id}.pid`);
  const c = sb.tsrun(['create', '--bundle', b, '--pid-file', pidFile, id]);
  assert.is(c.status, 0, c.stderr);
  const s1 = sb.state(id);
  assert.is(s1.status, 'created');
  assert.ok(s1.pid > 0);
  assert.is(fs.readFileSync(pidFile, 'utf8'), String(s1.pid), 'pid file: decimal host pid, no newline');
  assert.is(s1.bundle, b);
  assert.is(s1.id, id);
  assert.match(s1.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.is(sb.tsrun(['start', id]).status, 0);
  assert.is(sb.state(id).status, 'running');
  assert.is(sb.tsrun(['start', id]).status, 1, 'start of a running container fails');
  const k = sb.tsrun(['kill', id, 'TERM']);
  assert.is(k.status, 0, k.stderr);
  sb.waitStatus(id, 'stopped');
  assert.is(sb.tsrun(['delete', id]).status, 0);
  const gone = sb.tsrun(['state', id]);
  assert.is(gone.status, 1);
  assert.match(gone.stderr, /container does not exist/);
});

test('create: the init is the caller\'s child (CLONE_PARENT), as containerd\'s shim and conmon expect to reap it', () => {
  const b = sb.bundle({ args: ['true'] });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  const { pid } = sb.state(id);
  const ppid = /^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.is(Number(ppid), process.pid);
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

test('a state with enough strings for hash flooding: start/state/kill/delete re-execute with a per-process seed and work', () => {
  const annotations = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`org.example.a${i}`, String(i)]));
  const b = sb.bundle({ args: ['sleep', '30'], edit: (c) => (c.annotations = annotations) });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  const reexec = /level=debug msg="re-executing with a per-process hash seed" file=\S+state.json strings=\d+/;
  const st = sb.tsrun(['state', id], { globals: ['--debug'] });
  assert.is(st.status, 0, st.stderr);
  assert.match(st.stderr, reexec);
  const doc = JSON.parse(st.stdout);
  assert.is(doc.status, 'created');
  assert.equal(doc.annotations, annotations);
  for (const args of [['start', id], ['kill', id, 'KILL']]) {
    const r = sb.tsrun(args, { globals: ['--debug'] });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, reexec, args[0]);
  }
  sb.waitStatus(id, 'stopped');
  const d = sb.tsrun(['delete', id], { globals: ['--debug'] });
  assert.is(d.status, 0, d.stderr);
  assert.match(d.stderr, reexec);
  assert.is(sb.tsrun(['state', id]).status, 1);
  // An ordinary state is parsed in place.
  const small = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', sb.bundle({ args: ['true'] }), small]).status, 0);
  const s2 = sb.tsrun(['state', small], { globals: ['--debug'] });
  assert.is(s2.status, 0, s2.stderr);
  assert.not.match(s2.stderr, /re-executing/);
  assert.is(sb.tsrun(['delete', '--force', small]).status, 0);
});

test('a created container only runs its process after start', () => {
  const marker = 'started-marker';
  const b = sb.bundle({ args: ['sh', '-c', `touch /tmp/${marker}`], edit: (c) => (c.root.readonly = false) });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  sleep(200);
  assert.not.ok(fs.existsSync(path.join(b, 'rootfs/tmp', marker)));
  assert.is(sb.tsrun(['start', id]).status, 0);
  sb.waitStatus(id, 'stopped');
  assert.ok(fs.existsSync(path.join(b, 'rootfs/tmp', marker)));
  assert.is(sb.tsrun(['delete', id]).status, 0);
});

test('delete refuses a running container; --force kills it; a created one is killed', () => {
  const b = sb.bundle({ args: ['sleep', '100'] });
  const id = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', b, id]).status, 0);
  const pid = sb.state(id).pid;
  const d = sb.tsrun(['delete', id]);
  assert.is(d.status, 1);
  assert.match(d.stderr, /running/);
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
  assert.not.ok(fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sleep'));
  const id2 = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id2]).status, 0);
  assert.is(sb.tsrun(['delete', id2]).status, 0);
  assert.is(sb.tsrun(['delete', '--force', 'never-existed']).status, 0);
});

test('run: death by signal maps to 128+n', async () => {
  const b = sb.bundle({ args: ['sleep', '100'] });
  const id = sb.id();
  const child = spawn(TSRUN, ['--root', sb.root, 'run', '--bundle', b, id], { stdio: 'ignore', env: cleanEnv() });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const r = sb.tsrun(['state', id]);
    if (r.status === 0 && JSON.parse(r.stdout).status === 'running') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.is(sb.tsrun(['kill', id, '9']).status, 0);
  assert.is(await done, 137);
  assert.is(sb.tsrun(['state', id]).status, 1, 'run removes the container after it exits');
});

test('inside: only stdio (and preserved fds) are open, signals are default, stdio is blocking', () => {
  const b = sb.bundle({
    args: ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; echo; grep -E "^Sig(Blk|Ign)" /proc/self/status; grep flags /proc/self/fdinfo/1'],
  });
  const r = sb.tsrun(['run', '--bundle', b, sb.id()]);
  assert.is(r.status, 0, r.stderr);
  const [fds, blk, ign, flags] = r.stdout.trim().split('\n');
  assert.is(fds.trim(), '0 1 2 3', 'ls sees 0-2 and its own directory fd');
  assert.match(blk, /0000000000000000$/);
  assert.match(ign, /0000000000000000$/);
  assert.is((parseInt(flags.split(/\s+/)[1], 8) & 0o4000), 0, 'stdout is not O_NONBLOCK');
});

test('--preserve-fds passes fd 3 through', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "'] });
  const extra = path.join(sb.dir, 'extra');
  fs.writeFileSync(extra, 'x');
  const r = sb.exec(['sh', '-c', `exec 3<${extra}; exec ${TSRUN} --root ${sb.root} run --preserve-fds 1 --bundle ${b} ${sb.id()}`]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '0 1 2 3 4');
});

test('a seccomp profile loaded before exec that refuses close_range still runs (fd cleanup falls back to /proc/self/fd)', () => {
  const b = sb.bundle({
    args: ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "'],
    edit: (c) => {
      c.process.noNewPrivileges = false; // the filter is loaded early, before capabilities drop
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
    },
  });
  const extra = path.join(sb.dir, 'leak');
  fs.writeFileSync(extra, 'x');
  // fd 5 is inherited without CLOEXEC from the caller and must not reach the container.
  const r = sb.exec(['sh', '-c', `exec 5<${extra}; exec ${TSRUN} --root ${sb.root} run --bundle ${b} ${sb.id()}`]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '0 1 2 3');
});

test('a bad config creates nothing: clear error, exit 1, no state, no process', () => {
  const before = initHelpers();
  const b = sb.bundle({ args: ['/no/such/binary'] });
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 1);
  assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, /no\/such\/binary/);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)));
  assert.is(initHelpers(), before);
});

test('a kernel refusal inside the init rolls back and is reported with context', () => {
  const before = initHelpers();
  const b = sb.bundle({
    args: ['true'],
    edit: (c) => c.mounts.push({ destination: '/mnt/x', type: 'nosuchfs', source: 'none' }),
  });
  const id = sb.id();
  const log = path.join(sb.dir, `${id}.log`);
  const r = sb.tsrun(['create', '--bundle', b, id], { globals: ['--log', log, '--log-format', 'json'] });
  assert.is(r.status, 1);
  assert.match(r.stderr, /\/mnt\/x/);
  assert.match(r.stderr, /nosuchfs/);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = lines.filter((l) => l.level === 'error').pop();
  assert.match(last.msg, /\/mnt\/x/);
  assert.not.ok(fs.existsSync(path.join(sb.root, id)));
  sleep(100);
  assert.is(initHelpers(), before);
});

test('two creates of the same id: exactly one wins', async () => {
  const b = sb.bundle({ args: ['sleep', '100'] });
  const id = sb.id();
  const one = () =>
    new Promise<number | null>((resolve) => {
      const c = spawn(TSRUN, ['--root', sb.root, 'create', '--bundle', b, id], { stdio: 'ignore', env: cleanEnv() });
      c.on('exit', (code) => resolve(code));
    });
  const codes = await Promise.all([one(), one(), one()]);
  assert.equal(codes.filter((c) => c === 0).length, 1, `exit codes ${codes}`);
  assert.is(sb.state(id).status, 'created');
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test('create of an existing id fails with runc\'s wording and keeps the first', () => {
  const b = sb.bundle({ args: ['sleep', '100'] });
  const id = sb.id();
  assert.is(sb.tsrun(['create', '--bundle', b, id]).status, 0);
  const r = sb.tsrun(['create', '--bundle', b, id]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /container with given ID already exists/);
  assert.is(sb.state(id).status, 'created');
  assert.is(sb.tsrun(['delete', '--force', id]).status, 0);
});

test.run();
