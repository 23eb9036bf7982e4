/**
 * Terminals against real containers: the console-socket protocol shape
 * (go-runc's checks), the pty inside the container's devpts with
 * consoleSize, /dev/console bound to it, exec -t, the foreground proxy of
 * `run`/`exec -t`, and runc's errors for a tty without a socket.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TtyReceiver, readAll } from '../helpers/recvtty';
import { Sandbox, TSRUN, cleanEnv } from '../helpers/tsrun';

const sb = new Sandbox('tsrun-tty-');
test.after(() => sb.cleanup());

const lines = (s: string) => s.replace(/\r/g, '').trim().split('\n');

test('create --console-socket: one fd, pty in the container devpts, size, /dev/console, controlling tty', () => {
  const r = new TtyReceiver();
  try {
    const b = sb.bundle({
      args: ['sh', '-c', 'busybox tty; busybox stty size; stat -c %t:%T /dev/console; stat -L -c %t:%T /proc/self/fd/0; grep -c devpts /proc/self/mountinfo; ps -o pid,tty | tail -1; cat /proc/self/stat | cut -d" " -f6,7'],
      terminal: true,
      edit: (c) => (c.process.consoleSize = { height: 40, width: 120 }),
    });
    const id = sb.id();
    const c = sb.tsrun(['create', '--bundle', b, '--console-socket', r.path, id]);
    assert.is(c.status, 0, c.stderr);
    const got = r.receive();
    assert.equal(got.problems, []);
    assert.match(got.name, /^\/dev\/pts\/\d+$/);
    assert.is(sb.tsrun(['start', id]).status, 0);
    const out = lines(readAll(got.master));
    fs.closeSync(got.master);
    assert.is(out[0], '/dev/pts/0', 'a fresh devpts instance: the first pty');
    assert.is(out[1], '40 120');
    assert.is(out[2], out[3], '/dev/console is the pty');
    assert.ok(Number(out[4]) >= 1);
    // session id == pid (setsid) and a controlling tty (tty_nr != 0)
    const [session, ttyNr] = out[6].split(' ').map(Number);
    assert.is(session, 1);
    assert.ok(ttyNr !== 0);
  } finally {
    r.close();
  }
});

test('exec -t -d --console-socket: its own pty', () => {
  const b = sb.bundle({ args: ['sleep', '100'] });
  const id = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', b, id]).status, 0);
  const r = new TtyReceiver();
  try {
    const e = sb.tsrun(['exec', '-t', '-d', '--console-socket', r.path, id, 'sh', '-c', 'busybox tty; echo ok']);
    assert.is(e.status, 0, e.stderr);
    const got = r.receive();
    assert.equal(got.problems, []);
    const out = lines(readAll(got.master));
    fs.closeSync(got.master);
    assert.match(out[0], /^\/dev\/pts\/\d+$/);
    assert.is(out[1], 'ok');
  } finally {
    r.close();
  }
});

test('foreground run and exec -t proxy the pty to tsrun\'s stdio', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'busybox tty; read x; echo got-$x; exit 3'], terminal: true });
  const id = sb.id();
  const r = spawnSync(TSRUN, ['--root', sb.root, 'run', '--bundle', b, id], { input: 'abc\n', encoding: 'utf8', env: cleanEnv(), timeout: 20_000 });
  assert.is(r.status, 3, r.stderr);
  const out = lines(r.stdout);
  // The pty echoes the input, which may arrive before the first line.
  assert.ok(out.includes('/dev/pts/0'), r.stdout);
  assert.ok(out.includes('got-abc'), r.stdout);

  const b2 = sb.bundle({ args: ['sleep', '100'] });
  const id2 = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', b2, id2]).status, 0);
  const e = spawnSync(TSRUN, ['--root', sb.root, 'exec', '-t', id2, 'sh', '-c', 'busybox tty; exit 6'], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(e.status, 6, e.stderr);
  assert.match(lines(e.stdout)[0], /^\/dev\/pts\/\d+$/);
});

test('foreground run and exec -t: output bytes as runc\'s own terminal ("\\n" stays "\\n": ONLCR cleared)', () => {
  const b = sb.bundle({ args: ['sh', '-c', 'echo a; echo b'], terminal: true });
  const r = spawnSync(TSRUN, ['--root', sb.root, 'run', '--bundle', b, sb.id()], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'a\nb\n');

  const b2 = sb.bundle({ args: ['sleep', '100'] });
  const id2 = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', b2, id2]).status, 0);
  const e = spawnSync(TSRUN, ['--root', sb.root, 'exec', '-t', id2, 'sh', '-c', 'echo a; echo b'], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(e.status, 0, e.stderr);
  assert.is(e.stdout, 'a\nb\n');

  // A console socket's owner gets the pty as the kernel makes it (runc leaves it alone too).
  const rt = new TtyReceiver();
  try {
    assert.is(sb.tsrun(['exec', '-t', '-d', '--console-socket', rt.path, id2, 'sh', '-c', 'echo a; echo b']).status, 0);
    const got = rt.receive();
    assert.is(readAll(got.master), 'a\r\nb\r\n');
    fs.closeSync(got.master);
  } finally {
    rt.close();
  }
});

const OWNERS = 'stat -c %u /dev/console 2>/dev/null || echo none; for f in 0 1 2; do stat -L -c %u:%g /proc/self/fd/$f; done';

test('the pty is owned by the process user (runc fixStdioPermissions): create --console-socket, run -t, exec -t -u', () => {
  const r = new TtyReceiver();
  try {
    const b = sb.bundle({ args: ['sh', '-c', OWNERS], terminal: true, edit: (c) => (c.process.user = { uid: 1000, gid: 1000 }) });
    const id = sb.id();
    const c = sb.tsrun(['create', '--bundle', b, '--console-socket', r.path, id]);
    assert.is(c.status, 0, c.stderr);
    const got = r.receive();
    assert.is(sb.tsrun(['start', id]).status, 0);
    const out = lines(readAll(got.master));
    fs.closeSync(got.master);
    // The uid changes, the gid stays devpts' own (gid=5 in the default spec), as runc.
    assert.equal(out, ['1000', '1000:5', '1000:5', '1000:5']);
  } finally {
    r.close();
  }

  const fg = sb.bundle({ args: ['sh', '-c', OWNERS], terminal: true, edit: (c) => (c.process.user = { uid: 1000, gid: 1000 }) });
  const f = spawnSync(TSRUN, ['--root', sb.root, 'run', '--bundle', fg, sb.id()], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(f.status, 0, f.stderr);
  assert.equal(lines(f.stdout), ['1000', '1000:5', '1000:5', '1000:5']);

  const b2 = sb.bundle({ args: ['sleep', '100'] });
  const id2 = sb.id();
  assert.is(sb.tsrun(['run', '-d', '--bundle', b2, id2]).status, 0);
  const e = spawnSync(TSRUN, ['--root', sb.root, 'exec', '-t', '-u', '1000', id2, 'sh', '-c', 'for f in 0 1 2; do stat -L -c %u /proc/self/fd/$f; done; echo x > /dev/stdout'], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(e.status, 0, e.stderr);
  assert.equal(lines(e.stdout), ['1000', '1000', '1000', 'x']);
});

test('plain stdio is given to the process user (pipes, files), never a device such as the host\'s /dev/null', () => {
  const nullUid = fs.statSync('/dev/null').uid;
  // Foreground run: the container gets tsrun's stdio, here /dev/null and pipes (node's 'pipe' is a socket).
  const b = sb.bundle({ args: ['sh', '-c', `${OWNERS}; echo reopened >> /dev/stdout`], edit: (c) => (c.process.user = { uid: 1000, gid: 1000 }) });
  const cmd = `'${TSRUN}' --root '${sb.root}' run --bundle '${b}' ${sb.id()} 2>&1 </dev/null | cat`;
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', env: cleanEnv(), timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(r.status, 0, r.stderr);
  assert.equal(lines(r.stdout), ['none', `${nullUid}:${fs.statSync('/dev/null').gid}`, '1000:0', '1000:0', 'reopened']);
  assert.is(fs.statSync('/dev/null').uid, nullUid, 'the host /dev/null is untouched');

  // create/start: the container inherits create's stdio (regular files here), as runc's detached mode.
  const id = sb.id();
  const c = sb.tsrun(['run', '-d', '--bundle', b, id]);
  assert.is(c.status, 0, c.stderr);
  sb.waitStatus(id, 'stopped');
  const outFile = fs.readdirSync(sb.dir).filter((n) => n.startsWith('out.')).map((n) => `${sb.dir}/${n}`).find((p) => fs.readFileSync(p, 'utf8').includes('reopened'));
  assert.ok(outFile, 'the output reached the file');
  assert.is(fs.statSync(outFile!).uid, 1000);
});

test('runc\'s errors: detached tty without a socket, socket without a tty', () => {
  const b = sb.bundle({ args: ['true'], terminal: true });
  const a = sb.tsrun(['create', '--bundle', b, sb.id()]);
  assert.is(a.status, 1);
  assert.match(a.stderr, 'cannot allocate tty if runc will detach without setting console socket');
  const d = sb.tsrun(['run', '-d', '--bundle', b, sb.id()]);
  assert.match(d.stderr, 'cannot allocate tty if runc will detach without setting console socket');
  const nb = sb.bundle({ args: ['true'] });
  const s = sb.tsrun(['create', '--bundle', nb, '--console-socket', '/tmp/none.sock', sb.id()]);
  assert.match(s.stderr, 'cannot use console socket if runc will not detach or allocate tty');
});

test.run();
